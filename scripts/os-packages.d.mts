// Types of os-packages.mjs, for the benchmarks written in TypeScript.
export function debianPackageInstalled(name: string): boolean;
export function installDebianPackages(packages: string[], why: string): string | undefined;
