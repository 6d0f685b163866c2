// An optional demo OpenBao server on EC2, so the stack can be tried end to end without a Vault of
// one's own (the AWS sample this project follows ships a demo Vault the same way). It initialises
// itself at first boot and writes a read-only token into the connection secret: no credential is
// ever in the template. DEMO ONLY: plain HTTP, one unseal key, file storage.
import { isIP } from "node:net";
import { Annotations, Aws, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { readOnlyPolicy } from "../src/sources/vault/bootstrap.js";

/**
 * Pinned OpenBao release. The asset name was checked against the release configuration in
 * openbao/openbao at tag v2.6.2 (goreleaser.linux.yaml: project and nfpm package `openbao`,
 * formats deb/rpm, goreleaser's default `<package>_<version>_<os>_<arch>` file name) and against
 * published install guides that download `openbao_2.6.1_linux_arm64.rpm` from the same place.
 * Releases before 2.5 named the package `bao_<version>_...`, so do not change one part alone.
 */
export const OPENBAO_VERSION = "2.6.2";

export function openbaoRpmUrl(architecture: "arm64" | "amd64", version = OPENBAO_VERSION): string {
  return `https://github.com/openbao/openbao/releases/download/v${version}/openbao_${version}_linux_${architecture}.rpm`;
}

/** The policy (and the token's only policy) the demo writes: the same as `secretbridge bootstrap-vault`. */
export const DEMO_POLICY_NAME = "aws-replication-read-only";

const VAULT_PORT = 8200;

export interface DemoVaultProps {
  /** The instance goes into the VPC's public subnets (it downloads OpenBao); no inbound rule from the internet by default. */
  vpc: ec2.IVpc;
  /** The instance writes {"vaultAddress", "vaultToken"} (a read-only token) into it after init. */
  connectionSecret: secretsmanager.ISecret;
  /** The connection secret's key; also encrypts the init secret (unseal key and root token). */
  encryptionKey: kms.IKey;
  /** KV v2 mount to enable and fill with two sample secrets, e.g. "hybrid-aws-secrets". */
  mount: string;
  /** The function's security group: allowed to reach TCP 8200. */
  clientSecurityGroup: ec2.ISecurityGroup;
  /** vaultInboundCidr: when set, TCP 8200 (plain HTTP) is also open from this CIDR. */
  inboundCidr?: string;
  /** An EC2 key pair name; none by default (use SSM Session Manager). SSH is never opened either way. */
  keyName?: string;
  /** Default t4g.small (Graviton). An x86 type gets the x86 AMI and package. */
  instanceType?: string;
}

/**
 * A single-node OpenBao on Amazon Linux 2023, for demos only: the listener is plain HTTP (no TLS),
 * the unseal key and root token live in a Secrets Manager secret so the server can unseal itself
 * after a reboot, and storage is a local file. Reachable on 8200 from the client security group
 * (and `inboundCidr` if given); shell access through SSM Session Manager, never SSH.
 */
export class DemoVault extends Construct implements ec2.IConnectable {
  readonly instance: ec2.Instance;
  readonly securityGroup: ec2.SecurityGroup;
  /** Holds `bao operator init`'s JSON (unseal key, root token): the operator's admin credential. */
  readonly initSecret: secretsmanager.Secret;
  /** http://<private ip>:8200 (a CDK token) */
  readonly address: string;
  readonly connections: ec2.Connections;

  constructor(scope: Construct, id: string, props: DemoVaultProps) {
    super(scope, id);
    validateMount(props.mount);
    if (props.inboundCidr !== undefined) validateCidr(props.inboundCidr);

    const instanceType = new ec2.InstanceType(props.instanceType ?? "t4g.small");
    const arm = instanceType.architecture === ec2.InstanceArchitecture.ARM_64;

    // Named after the connection secret but outside its prefix: the replication function lists
    // and writes `<prefix>/*`, and the root token must not sit among the secrets it manages.
    this.initSecret = new secretsmanager.Secret(this, "InitSecret", {
      secretName: `demo-vault-init/${props.connectionSecret.secretName}`,
      description: "Demo OpenBao: `bao operator init` output (unseal key, root token), read by the instance to unseal after a reboot",
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.vpc,
      description: "Demo OpenBao: 8200 from the secretbridge function only; outbound for the package download and AWS APIs",
      allowAllOutbound: true,
    });

    const region = Stack.of(this).region;
    this.instance = new ec2.Instance(this, "Instance", {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      associatePublicIpAddress: true,
      instanceType,
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: arm ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64 }),
      securityGroup: this.securityGroup,
      ssmSessionPermissions: true,
      ...(props.keyName ? { keyPair: ec2.KeyPair.fromKeyPairName(this, "KeyPair", props.keyName) } : {}),
      blockDevices: [
        {
          deviceName: "/dev/xvda",
          volume: ec2.BlockDeviceVolume.ebs(8, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true, deleteOnTermination: true }),
        },
      ],
      userData: ec2.UserData.custom(
        demoVaultUserData({
          mount: props.mount,
          connectionSecretId: props.connectionSecret.secretArn,
          initSecretId: this.initSecret.secretArn,
          region,
          architecture: arm ? "arm64" : "amd64",
        }),
      ),
      // A changed script only runs on a new instance; the demo has nothing worth keeping.
      userDataCausesReplacement: true,
    });
    this.connections = this.instance.connections;
    // IMDSv2 only. Not `requireImdsv2: true`: without the uniqueImdsv2TemplateName feature flag
    // its launch template is named "InstanceLaunchTemplate" account-wide, so a second stack with
    // a demo server in the same Region would fail to deploy. CloudFormation names this one.
    const imdsv2 = new ec2.CfnLaunchTemplate(this, "Imdsv2Only", {
      launchTemplateData: { metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" } },
    });
    this.instance.instance.launchTemplate = { launchTemplateId: imdsv2.ref, version: imdsv2.attrLatestVersionNumber };

    // Only what the boot script and the unseal unit do: write the two secrets, read the init one.
    const secretArns = [arnForPolicies(props.connectionSecret), arnForPolicies(this.initSecret)];
    this.instance.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: "WriteConnectionAndInitSecrets", actions: ["secretsmanager:PutSecretValue"], resources: secretArns }),
    );
    this.instance.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: "ReadInitSecretToUnseal", actions: ["secretsmanager:GetSecretValue"], resources: [arnForPolicies(this.initSecret)] }),
    );
    this.instance.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "UseTheKeyOnlyThroughSecretsManagerForTheseSecrets",
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [props.encryptionKey.keyArn],
        conditions: {
          StringEquals: { "kms:ViaService": `secretsmanager.${region}.${Aws.URL_SUFFIX}` },
          StringLike: { "kms:EncryptionContext:SecretARN": secretArns },
        },
      }),
    );

    this.instance.connections.allowFrom(props.clientSecurityGroup, ec2.Port.tcp(VAULT_PORT), "secretbridge function to OpenBao");
    if (props.inboundCidr !== undefined) {
      const peer = isIP(props.inboundCidr.split("/")[0] ?? "") === 6 ? ec2.Peer.ipv6(props.inboundCidr) : ec2.Peer.ipv4(props.inboundCidr);
      this.instance.connections.allowFrom(peer, ec2.Port.tcp(VAULT_PORT), "vaultInboundCidr to OpenBao (plain HTTP)");
      Annotations.of(this).addWarningV2("secretbridge:demoVaultInbound", `the demo OpenBao listens on plain HTTP and TCP ${VAULT_PORT} is open to ${props.inboundCidr}`);
    }

    this.address = `http://${this.instance.instancePrivateIp}:${VAULT_PORT}`;
  }
}

/** A small VPC for the demo: public subnets (the instance) and isolated subnets (the function), 2 AZs, NO NAT gateway. */
export function demoVpc(scope: Construct, id: string): ec2.Vpc {
  return new ec2.Vpc(scope, id, {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [
      { name: "Public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: "Isolated", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ],
  });
}

export interface DemoVaultUserDataProps {
  mount: string;
  /** Name or ARN (tokens allowed) of the secret that receives {"vaultAddress", "vaultToken"}. */
  connectionSecretId: string;
  /** Name or ARN of the secret that receives `bao operator init`'s JSON. */
  initSecretId: string;
  region: string;
  /** Default arm64. */
  architecture?: "arm64" | "amd64";
}

/**
 * The first-boot script (Amazon Linux 2023). Nothing secret is ever printed: tracing stays off,
 * tokens and the unseal key go from command to root-only files under /run (tmpfs) to Secrets
 * Manager via `file://`, and reach curl on stdin, never on a command line.
 */
export function demoVaultUserData(props: DemoVaultUserDataProps): string {
  validateMount(props.mount);
  const rpm = openbaoRpmUrl(props.architecture ?? "arm64");
  return `#!/bin/bash
# secretbridge demo OpenBao, OpenBao ${OPENBAO_VERSION}. DEMO ONLY: plain HTTP, one unseal key, file storage.
set -euo pipefail
set +x
umask 077
trap 'rm -f /run/openbao-*.json' EXIT

export AWS_DEFAULT_REGION='${props.region}'
export BAO_ADDR=http://127.0.0.1:${VAULT_PORT}
MOUNT='${props.mount}'
POLICY='${DEMO_POLICY_NAME}'

# 1. OpenBao from its official release RPM (pinned), and jq for its JSON.
dnf install -y jq '${rpm}'

# 2. Server config. No TLS so the function needs no CA bundle: acceptable for a demo inside a
#    VPC, never for real secrets.
cat > /etc/openbao/openbao.hcl <<'HCL'
ui = false

storage "file" {
  path = "/opt/openbao/data"
}

# DEMO ONLY: plain HTTP.
listener "tcp" {
  address     = "0.0.0.0:${VAULT_PORT}"
  tls_disable = true
}
HCL
install -d -o openbao -g openbao -m 0700 /opt/openbao/data

# 3. After every start of openbao.service, unseal it with the key kept in the init secret.
cat > /usr/local/sbin/openbao-unseal <<'SH'
#!/bin/bash
set -euo pipefail
set +x
export AWS_DEFAULT_REGION='${props.region}'
addr=http://127.0.0.1:${VAULT_PORT}
status=""
for _ in $(seq 1 60); do
  if status=$(curl -sf "$addr/v1/sys/seal-status"); then break; fi
  sleep 2
done
if [ -z "$status" ]; then echo "openbao-unseal: no answer from $addr" >&2; exit 1; fi
if [ "$(jq -r .initialized <<<"$status")" != true ]; then echo "openbao-unseal: not initialised yet"; exit 0; fi
if [ "$(jq -r .sealed <<<"$status")" != true ]; then echo "openbao-unseal: already unsealed"; exit 0; fi
aws secretsmanager get-secret-value --secret-id '${props.initSecretId}' --query SecretString --output text \\
  | jq -c '{key: .unseal_keys_b64[0]}' \\
  | curl -sf -o /dev/null -X PUT --data @- "$addr/v1/sys/unseal"
echo "openbao-unseal: unsealed"
SH
chmod 0700 /usr/local/sbin/openbao-unseal
cat > /etc/systemd/system/openbao-unseal.service <<'UNIT'
[Unit]
Description=Unseal the demo OpenBao with the key in its init secret
After=openbao.service
Requires=openbao.service
PartOf=openbao.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/openbao-unseal

[Install]
WantedBy=openbao.service
UNIT
systemctl daemon-reload
systemctl enable --now openbao.service openbao-unseal.service

for _ in $(seq 1 60); do
  if curl -sf -o /dev/null "$BAO_ADDR/v1/sys/seal-status"; then break; fi
  sleep 2
done
if [ "$(curl -sf "$BAO_ADDR/v1/sys/seal-status" | jq -r .initialized)" = true ]; then
  echo "openbao-demo: already initialised, unsealing only"
  exec /usr/local/sbin/openbao-unseal
fi

# 4. Initialise with one key share; keep the result in the init secret before anything else, so
#    a reboot from here on can unseal.
bao operator init -key-shares=1 -key-threshold=1 -format=json > /run/openbao-init.json
aws secretsmanager put-secret-value --secret-id '${props.initSecretId}' --secret-string file:///run/openbao-init.json > /dev/null
jq -c '{key: .unseal_keys_b64[0]}' /run/openbao-init.json | curl -sf -o /dev/null -X PUT --data @- "$BAO_ADDR/v1/sys/unseal"
BAO_TOKEN=$(jq -r .root_token /run/openbao-init.json)
export BAO_TOKEN
rm -f /run/openbao-init.json
for _ in $(seq 1 60); do
  if curl -sf -o /dev/null "$BAO_ADDR/v1/sys/health"; then break; fi
  sleep 1
done

# 5. The replicated KV v2 mount with two sample secrets (random, non-sensitive demo values).
bao secrets enable -path="$MOUNT" -version=2 kv > /dev/null
demo_value() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'; }
bao kv put -mount="$MOUNT" first-secret-for-replication demo-value="$(demo_value)" > /dev/null
bao kv put -mount="$MOUNT" second-secret-for-replication username=replication-sample password="$(demo_value)" > /dev/null

# 6. The read-only policy (as \`secretbridge bootstrap-vault\` writes it) and a periodic orphan
#    token with only that policy: it lives as long as the function renews it within 24h.
bao policy write "$POLICY" - > /dev/null <<'HCL'
${readOnlyPolicy(props.mount)}HCL
bao token create -orphan -no-default-policy -policy="$POLICY" -period=24h -display-name=secretbridge -format=json > /run/openbao-token.json

# 7. The connection secret: address and read-only token (PutSecretValue replaces the whole value).
imds=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
ip=$(curl -sf -H "X-aws-ec2-metadata-token: $imds" http://169.254.169.254/latest/meta-data/local-ipv4)
jq -c --arg address "http://$ip:${VAULT_PORT}" '{vaultAddress: $address, vaultToken: .auth.client_token}' /run/openbao-token.json > /run/openbao-connection.json
aws secretsmanager put-secret-value --secret-id '${props.connectionSecretId}' --secret-string file:///run/openbao-connection.json > /dev/null
unset BAO_TOKEN
echo "openbao-demo: OpenBao ${OPENBAO_VERSION} ready at http://$ip:${VAULT_PORT} with mount $MOUNT; the read-only token is in the connection secret"
`;
}

// The mount is written into a shell script and an HCL policy: only plain path characters.
function validateMount(mount: string): void {
  if (Token.isUnresolved(mount) || !/^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.-]+)*$/.test(mount)) {
    throw new Error(`DemoVault mount: expected a plain KV mount path such as "hybrid-aws-secrets", got ${JSON.stringify(mount)}`);
  }
}

function validateCidr(cidr: string): void {
  const [address = "", prefix, ...rest] = cidr.split("/");
  const family = isIP(address);
  const bits = Number(prefix);
  const ok = rest.length === 0 && family !== 0 && prefix !== undefined && /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
  if (!ok) throw new Error(`vaultInboundCidr: expected a CIDR such as 203.0.113.0/24, got ${JSON.stringify(cidr)}`);
}

// A secret imported by name has a partial ARN: IAM needs the random suffix matched.
function arnForPolicies(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}
