// Installs missing Debian packages with apt-get when we are root on Debian/Ubuntu; otherwise
// returns the command that would, so callers can say exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process';

const has = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

/** Whether dpkg knows the package as installed. */
export function debianPackageInstalled(name) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

let updated = false;

/**
 * Installs `packages` (apt-get, when root) and returns undefined, or the reason it could not
 * with the command to run. `why` names what needs them, for the one line printed.
 */
export function installDebianPackages(packages, why) {
  if (packages.length === 0) return undefined;
  const command = `apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0 || !has('apt-get')) return `not root or no apt-get: install them with: sudo ${command}`;
  console.error(`syncline: installing ${packages.join(', ')} for ${why} (${command})`);
  try {
    if (!updated) execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    updated = true;
    execFileSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return undefined;
  } catch (err) {
    return `${command} failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}
