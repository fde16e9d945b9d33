/** The package version, recorded in every file quantwm writes. */
export const VERSION = '0.1.0';
