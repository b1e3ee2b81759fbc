/**
 * The embedded sandbox's stand-in for the DPC portal: register an organization (which returns its first client
 * token) and a public key, through the sandbox's `/__admin` endpoints outside the API path.
 */
import type { DpcClient } from '../client.js';
import { MediaType } from '../transport/index.js';
import { registerSecret } from '../redact.js';

export interface SandboxRegistration {
  orgId: string;
  clientToken: string;
  keyId: string;
}

export async function registerWithSandbox(
  client: Pick<DpcClient, 'transport'>,
  publicKeyPem: string,
  options: { label?: string; organizationName?: string } = {},
): Promise<SandboxRegistration> {
  const admin = `${client.transport.origin}/__admin/organizations`;
  const org = await client.transport.json<{ orgId: string; clientToken: string }>({
    method: 'POST',
    path: admin,
    auth: false,
    accept: MediaType.json,
    contentType: MediaType.json,
    body: JSON.stringify(options.organizationName ? { name: options.organizationName } : {}),
  });
  registerSecret(org.body.clientToken);
  const key = await client.transport.json<{ id: string }>({
    method: 'POST',
    path: `${admin}/${encodeURIComponent(org.body.orgId)}/keys`,
    auth: false,
    accept: MediaType.json,
    contentType: MediaType.json,
    body: JSON.stringify({ key: publicKeyPem, label: options.label ?? 'dpc init' }),
  });
  return { orgId: org.body.orgId, clientToken: org.body.clientToken, keyId: key.body.id };
}
