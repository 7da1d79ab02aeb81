// `syncline secrets --namespace <ns>`: the cluster's keys as Kubernetes Secrets (YAML on stdout,
// for `kubectl apply -f -`): the NATS trust chain for the nats-servers, and the NATS account's
// signing key and the model-signing key for the coordinator. Made fresh each time: apply once.
import { createNatsTrust, natsServerTrustConfig, ModelSigner } from '@syncline/coordinator';
import { stringify } from 'yaml';

const labels = (component: string) => ({
  'app.kubernetes.io/name': 'syncline',
  'app.kubernetes.io/instance': 'syncline',
  'app.kubernetes.io/component': component,
  'app.kubernetes.io/part-of': 'syncline',
  'app.kubernetes.io/version': '0.1.0',
});

export async function secrets(opts: { namespace: string }): Promise<void> {
  const trust = await createNatsTrust();
  const signer = ModelSigner.generate();
  const secret = (name: string, component: string, data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: opts.namespace, labels: labels(component) },
    type: 'Opaque',
    stringData: data,
  });
  const docs = [
    secret('syncline-nats-trust', 'message-bus', { 'trust.conf': natsServerTrustConfig(trust) + '\n' }),
    secret('syncline-coordinator-keys', 'coordinator', {
      'nats-account-key.json': JSON.stringify(trust.accountKey) + '\n',
      'model-signing-key.pem': signer.toPem(),
    }),
  ];
  process.stdout.write(docs.map((d) => stringify(d)).join('---\n'));
  console.error(`model-signing public key (the SDK's trustedKeys): ${signer.publicKey}`);
}
