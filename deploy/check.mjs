// Checks the Kubernetes manifests under deploy/ without a cluster: every YAML file parses; every
// object carries the app.kubernetes.io/* labels; every container has pinned images (no `latest`),
// resource requests and a restricted security context; containers that serve a port have
// readiness and liveness probes. Each overlay is also rendered (kubectl kustomize, else kustomize
// build) and its output checked as a whole: namespaces set, Service and PDB selectors matching
// pods, named ports existing. Usage: node deploy/check.mjs [--require-render]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

const deployDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(deployDir, '..');
const requireRender = process.argv.includes('--require-render');

const STANDARD_LABELS = ['name', 'instance', 'component', 'part-of', 'version'].map((l) => `app.kubernetes.io/${l}`);
const NAMESPACE_LABELS = ['name', 'instance', 'part-of'].map((l) => `app.kubernetes.io/${l}`);
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod']);
const BATCH = new Set(['Job', 'CronJob']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass', 'PersistentVolume', 'IngressClass', 'PriorityClass', 'CustomResourceDefinition']);
const KUSTOMIZE_KINDS = new Set(['Kustomization', 'Component']);

const problems = [];
const report = (where, message) => problems.push(`${where}: ${message}`);
const rel = (path) => relative(repoRoot, path);
const idOf = (obj) => `${obj.kind}/${obj.metadata?.name ?? '?'}`;

function yamlFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

function parseDocuments(text, where) {
  try {
    return yaml.loadAll(text, { filename: where, schema: yaml.CORE_SCHEMA }).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    report(where, `does not parse: ${err.message}`);
    return [];
  }
}

/** The pod template (metadata + spec) of a workload, wherever its kind keeps it. */
function podTemplateOf(obj) {
  if (obj.kind === 'Pod') return { metadata: obj.metadata, spec: obj.spec };
  if (obj.kind === 'CronJob') return obj.spec?.jobTemplate?.spec?.template;
  return obj.spec?.template;
}

function checkLabels(labels, required, where) {
  for (const label of required) {
    const value = labels?.[label];
    if (typeof value !== 'string' || value === '') report(where, `label ${label} is missing`);
  }
}

/** A pinned image has a tag other than `latest`, or a digest. */
function checkImage(image, where) {
  if (typeof image !== 'string' || image === '') return report(where, 'has no image');
  if (image.includes('@sha256:')) return;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon < 0) return report(where, `image ${image} has no tag (pin one)`);
  if (lastSegment.slice(colon + 1) === 'latest') report(where, `image ${image} uses the latest tag (pin a version)`);
}

function imageTag(image) {
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  return colon < 0 ? undefined : lastSegment.slice(colon + 1).split('@')[0];
}

function checkProbePort(probe, ports, where, which) {
  const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
  if (port === undefined) return;
  const known = typeof port === 'number' ? ports.some((p) => p.containerPort === port) : ports.some((p) => p.name === port);
  if (!known) report(where, `${which} targets port ${port}, which the container does not declare`);
}

function checkContainer(container, pod, where, { longRunning }) {
  checkImage(container.image, where);
  const requests = container.resources?.requests ?? {};
  for (const resource of ['cpu', 'memory']) {
    if (requests[resource] === undefined) report(where, `resources.requests.${resource} is missing`);
  }
  if (container.resources?.limits?.memory === undefined) report(where, 'resources.limits.memory is missing');
  const ports = container.ports ?? [];
  if (longRunning && ports.length > 0) {
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      if (!container[probe]) report(where, `serves ports but has no ${probe}`);
    }
  }
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) checkProbePort(container[probe], ports, where, probe);
  // The "restricted" Pod Security Standard (the overlays' namespaces enforce it), plus a read-only root.
  const sc = container.securityContext ?? {};
  if (sc.allowPrivilegeEscalation !== false) report(where, 'securityContext.allowPrivilegeEscalation must be false');
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) report(where, 'securityContext.capabilities.drop must include ALL');
  if (sc.readOnlyRootFilesystem !== true) report(where, 'securityContext.readOnlyRootFilesystem must be true');
  if ((sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) !== true) report(where, 'runAsNonRoot must be true (pod or container)');
  const seccomp = sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') report(where, 'seccompProfile must be RuntimeDefault (pod or container)');
}

/** Checks one object on its own; `raw` marks a source file rather than kustomize output. */
function checkObject(obj, where, { raw }) {
  const id = `${where} ${idOf(obj)}`;
  if (obj.kind === 'Namespace') checkLabels(obj.metadata?.labels, NAMESPACE_LABELS, id);
  else checkLabels(obj.metadata?.labels, STANDARD_LABELS, id);
  if (!WORKLOADS.has(obj.kind)) return;

  const template = podTemplateOf(obj);
  if (!template?.spec) return report(id, 'has no pod template');
  checkLabels(template.metadata?.labels, STANDARD_LABELS, `${id} pod template`);
  const selector = obj.spec?.selector?.matchLabels;
  if (selector && obj.kind !== 'Job') {
    for (const [key, value] of Object.entries(selector)) {
      if (template.metadata?.labels?.[key] !== value) report(id, `selector ${key}=${value} does not match the pod template`);
    }
    // Selectors are immutable: a version in one would make every upgrade a delete-and-recreate.
    if ('app.kubernetes.io/version' in selector) report(id, 'selector must not include app.kubernetes.io/version');
  }
  const pod = template.spec;
  const containers = pod.containers ?? [];
  if (containers.length === 0) report(id, 'has no containers');
  for (const c of containers) checkContainer(c, pod, `${id} container ${c.name}`, { longRunning: !BATCH.has(obj.kind) });
  for (const c of pod.initContainers ?? []) checkContainer(c, pod, `${id} initContainer ${c.name}`, { longRunning: false });
  // In source files the version label and the image are written together, so they must agree
  // (overlays that retag the image may leave the label behind, so rendered output is exempt).
  const version = obj.metadata?.labels?.['app.kubernetes.io/version'];
  const tag = containers[0]?.image ? imageTag(containers[0].image) : undefined;
  if (raw && version && tag && tag !== version && !tag.startsWith(`${version}-`)) {
    report(id, `label app.kubernetes.io/version=${version} does not match image tag ${tag}`);
  }
}

const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

/** Checks a rendered overlay as a whole: what refers to what must exist. */
function checkRendered(objects, where) {
  const pods = objects.filter((o) => WORKLOADS.has(o.kind)).map((o) => ({ owner: o, template: podTemplateOf(o) }));
  const names = new Set(objects.map((o) => `${o.kind}/${o.metadata?.name}`));
  for (const obj of objects) {
    const id = `${where} ${idOf(obj)}`;
    if (!CLUSTER_SCOPED.has(obj.kind) && !obj.metadata?.namespace) report(id, 'has no namespace (set `namespace:` in the overlay)');
    if (obj.kind === 'Service' && obj.spec?.selector) {
      const targets = pods.filter((p) => matches(obj.spec.selector, p.template?.metadata?.labels));
      if (targets.length === 0) report(id, 'selector matches no pod template');
      for (const port of obj.spec.ports ?? []) {
        if (typeof port.targetPort !== 'string') continue;
        const declared = targets.some((t) => (t.template.spec.containers ?? []).some((c) => (c.ports ?? []).some((p) => p.name === port.targetPort)));
        if (targets.length > 0 && !declared) report(id, `targetPort ${port.targetPort} is not a port of the selected pods`);
      }
    }
    if (obj.kind === 'PodDisruptionBudget' && !pods.some((p) => matches(obj.spec?.selector?.matchLabels, p.template?.metadata?.labels))) {
      report(id, 'selector matches no pod template');
    }
    if (obj.kind === 'StatefulSet' && !names.has(`Service/${obj.spec?.serviceName}`)) report(id, `serviceName ${obj.spec?.serviceName} is not a Service here`);
    if (obj.kind === 'Ingress') {
      for (const rule of obj.spec?.rules ?? []) {
        for (const path of rule.http?.paths ?? []) {
          const service = path.backend?.service?.name;
          if (service && !names.has(`Service/${service}`)) report(id, `backend Service ${service} is not here`);
        }
      }
    }
    const template = WORKLOADS.has(obj.kind) ? podTemplateOf(obj) : undefined;
    for (const volume of template?.spec?.volumes ?? []) {
      if (volume.configMap && !names.has(`ConfigMap/${volume.configMap.name}`)) report(id, `volume ${volume.name} refers to ConfigMap ${volume.configMap.name}, which is not here`);
    }
  }
}

/** kubectl kustomize, else kustomize build; undefined when neither is installed. */
function render(dir) {
  for (const [cmd, args] of [
    ['kubectl', ['kustomize', dir]],
    ['kustomize', ['build', dir]],
  ]) {
    const run = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (run.error?.code === 'ENOENT') continue;
    if (run.status !== 0) {
      report(rel(dir), `${cmd} ${args[0]} failed: ${(run.stderr || String(run.error)).trim()}`);
      return [];
    }
    return { tool: cmd, text: run.stdout };
  }
  return undefined;
}

const files = yamlFiles(deployDir);
const parsed = files.map((path) => ({ path, docs: parseDocuments(readFileSync(path, 'utf8'), rel(path)) }));

// Patches are partial objects: only the objects that kustomizations list as resources are checked
// on their own. Listed files must exist.
const patchFiles = new Set();
const kustomizationDirs = [];
for (const { path, docs } of parsed) {
  for (const doc of docs) {
    if (!KUSTOMIZE_KINDS.has(doc?.kind)) continue;
    kustomizationDirs.push(dirname(path));
    const listed = [...(doc.resources ?? []), ...(doc.components ?? []), ...(doc.patches ?? []).map((p) => p.path).filter(Boolean), ...(doc.patchesStrategicMerge ?? [])];
    for (const entry of listed) {
      if (!existsSync(resolve(dirname(path), entry))) report(rel(path), `lists ${entry}, which does not exist`);
    }
    for (const p of doc.patches ?? []) if (p.path) patchFiles.add(resolve(dirname(path), p.path));
    for (const p of doc.patchesStrategicMerge ?? []) patchFiles.add(resolve(dirname(path), p));
  }
}

let objectsChecked = 0;
for (const { path, docs } of parsed) {
  if (patchFiles.has(path)) continue;
  for (const doc of docs) {
    if (typeof doc !== 'object' || Array.isArray(doc) || KUSTOMIZE_KINDS.has(doc.kind) || !doc.apiVersion) continue;
    checkObject(doc, rel(path), { raw: true });
    objectsChecked += 1;
  }
}

const overlays = kustomizationDirs.filter((dir) => relative(join(deployDir, 'overlays'), dir).split('/')[0] !== '..' && basename(dir) !== 'overlays');
const rendered = [];
let renderTool;
for (const dir of overlays.sort()) {
  const output = render(dir);
  if (output === undefined) break;
  if (Array.isArray(output)) continue;
  renderTool = output.tool;
  const objects = parseDocuments(output.text, `${rel(dir)} (rendered)`);
  for (const obj of objects) checkObject(obj, `${rel(dir)} (rendered)`, { raw: false });
  checkRendered(objects, `${rel(dir)} (rendered)`);
  rendered.push(`${rel(dir)} (${objects.length} objects)`);
}

console.log(`deploy/check: ${files.length} YAML files parsed, ${objectsChecked} source objects checked`);
if (rendered.length > 0) console.log(`deploy/check: rendered with ${renderTool}: ${rendered.join(', ')}`);
else if (requireRender) report('deploy/overlays', 'could not be rendered: neither kubectl nor kustomize is installed');
else console.log('deploy/check: overlays not rendered (neither kubectl nor kustomize is installed)');
if (problems.length > 0) {
  console.error(problems.map((p) => `  ${p}`).join('\n'));
  console.error(`deploy/check: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log('deploy/check: ok');
