// Synth assertions for the optional demo pieces: the OpenBao instance (network exposure, IMDSv2,
// encryption, the role's exact permissions, a boot script that holds no credential), the demo VPC
// without NAT, and the interface endpoints that keep the function's traffic inside the VPC.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { App, Stack, type Environment } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { DEMO_POLICY_NAME, DemoVault, demoVaultUserData, demoVpc, OPENBAO_VERSION, type DemoVaultProps } from "../../infra/demo-vault.js";
import { addInterfaceEndpoints, ENDPOINT_SERVICES } from "../../infra/vpc-endpoints.js";

const ENV: Environment = { account: "123456789012", region: "eu-west-1" };

type Options = Partial<Pick<DemoVaultProps, "inboundCidr" | "keyName" | "instanceType" | "mount">> & { env?: Environment | null };

function build(options: Options = {}): { stack: Stack; vault: DemoVault; connectionSecret: secretsmanager.Secret } {
  const { env = ENV, ...props } = options;
  const stack = new Stack(new App(), "Demo", env ? { env } : {});
  const vpc = demoVpc(stack, "Vpc");
  const key = new kms.Key(stack, "Key");
  const connectionSecret = new secretsmanager.Secret(stack, "ConnectionSecret", { secretName: "hybrid-aws-secrets/vault-connection-secret", encryptionKey: key });
  const functionSg = new ec2.SecurityGroup(stack, "FunctionSg", { vpc });
  const vault = new DemoVault(stack, "DemoVault", { vpc, connectionSecret, encryptionKey: key, mount: "hybrid-aws-secrets", clientSecurityGroup: functionSg, ...props });
  addInterfaceEndpoints(stack, vpc, { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, functionSg);
  return { stack, vault, connectionSecret };
}

const synth = (options: Options = {}): Template => Template.fromStack(build(options).stack);

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
const resources = (t: Template, type: string): [string, Resource][] => Object.entries(t.findResources(type) as Record<string, Resource>);
const only = (t: Template, type: string): [string, Resource] => {
  const all = resources(t, type);
  assert.equal(all.length, 1, `one ${type}`);
  return all[0]!;
};
const idOf = (t: Template, type: string, pattern: RegExp): string => {
  const ids = resources(t, type).map(([id]) => id).filter((id) => pattern.test(id));
  assert.equal(ids.length, 1, `one ${type} matching ${pattern}: ${ids.join(", ")}`);
  return ids[0]!;
};

type Rule = { group: string; CidrIp?: string; CidrIpv6?: string; SourceSecurityGroupId?: unknown; IpProtocol: string; FromPort?: number; ToPort?: number };

/** Every ingress rule of the template, inline or standalone, with the group it opens. */
function ingressRules(t: Template): Rule[] {
  const inline = resources(t, "AWS::EC2::SecurityGroup").flatMap(([id, r]) =>
    ((r.Properties.SecurityGroupIngress ?? []) as Omit<Rule, "group">[]).map((rule) => ({ ...rule, group: id })),
  );
  const standalone = resources(t, "AWS::EC2::SecurityGroupIngress").map(([, r]) => {
    const { GroupId, ...rule } = r.Properties as Omit<Rule, "group"> & { GroupId: { "Fn::GetAtt": [string, string] } };
    return { ...rule, group: GroupId["Fn::GetAtt"][0] };
  });
  return [...inline, ...standalone];
}

const groupRef = (id: string) => ({ "Fn::GetAtt": [id, "GroupId"] });

/** The SSM parameter the instance's image comes from. */
function imageParameter(t: Template): string {
  const ref = (only(t, "AWS::EC2::Instance")[1].Properties.ImageId as { Ref: string }).Ref;
  return (t.toJSON().Parameters as Record<string, { Default: string }>)[ref]!.Default;
}

/** The user data as text, with each CloudFormation reference shown as <Ref:LogicalId>. */
function userData(t: Template): string {
  const [, instance] = only(t, "AWS::EC2::Instance");
  const joined = (instance.Properties.UserData as { "Fn::Base64": { "Fn::Join": [string, unknown[]] } })["Fn::Base64"]["Fn::Join"][1];
  return joined.map((part) => (typeof part === "string" ? part : `<Ref:${(part as { Ref: string }).Ref}>`)).join("");
}

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
function instanceStatements(t: Template): Statement[] {
  return resources(t, "AWS::IAM::Policy").flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

describe("DemoVault instance", () => {
  const t = synth();

  test("t4g.small on Amazon Linux 2023 for ARM by default, in a public subnet with a public address", () => {
    const [, instance] = only(t, "AWS::EC2::Instance");
    assert.equal(instance.Properties.InstanceType, "t4g.small");
    assert.match(imageParameter(t), /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-kernel-[\d.]+-arm64$/);
    const nic = (instance.Properties.NetworkInterfaces as { AssociatePublicIpAddress: boolean; SubnetId: { Ref: string } }[])[0];
    assert.equal(nic?.AssociatePublicIpAddress, true);
    assert.match(nic?.SubnetId.Ref ?? "", /^VpcPublicSubnet/);
  });

  test("instanceType is honoured, and an x86 type gets the x86 image and package", () => {
    const x86 = synth({ instanceType: "t3.small" });
    const [, instance] = only(x86, "AWS::EC2::Instance");
    assert.equal(instance.Properties.InstanceType, "t3.small");
    assert.match(imageParameter(x86), /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-kernel-[\d.]+-x86_64$/);
    assert.match(userData(x86), new RegExp(`openbao_${OPENBAO_VERSION.replace(/\./g, "\\.")}_linux_amd64\\.rpm`));
    assert.doesNotMatch(userData(x86), /arm64/);
  });

  test("IMDSv2 only: the instance's launch template requires tokens", () => {
    const [, instance] = only(t, "AWS::EC2::Instance");
    const [templateId, template] = only(t, "AWS::EC2::LaunchTemplate");
    assert.deepEqual(instance.Properties.LaunchTemplate, { LaunchTemplateId: { Ref: templateId }, Version: { "Fn::GetAtt": [templateId, "LatestVersionNumber"] } });
    assert.deepEqual(template.Properties.LaunchTemplateData, { MetadataOptions: { HttpEndpoint: "enabled", HttpTokens: "required" } });
    // No fixed name: two stacks with a demo server in one Region must not collide.
    assert.equal(template.Properties.LaunchTemplateName, undefined);
  });

  test("the root volume is a small encrypted gp3", () => {
    const [, instance] = only(t, "AWS::EC2::Instance");
    assert.deepEqual(instance.Properties.BlockDeviceMappings, [
      { DeviceName: "/dev/xvda", Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 8, VolumeType: "gp3" } },
    ]);
  });

  test("no key pair by default; the named one when keyName is given", () => {
    assert.equal(only(t, "AWS::EC2::Instance")[1].Properties.KeyName, undefined);
    const withKey = synth({ keyName: "demo-key" });
    assert.equal(only(withKey, "AWS::EC2::Instance")[1].Properties.KeyName, "demo-key");
  });

  test("no ingress from anywhere and no SSH, with or without a key pair and an inbound CIDR", () => {
    for (const template of [t, synth({ keyName: "demo-key", inboundCidr: "203.0.113.0/24" })]) {
      const rules = ingressRules(template);
      assert.ok(rules.length > 0);
      for (const rule of rules) {
        assert.notEqual(rule.CidrIp, "0.0.0.0/0", JSON.stringify(rule));
        assert.notEqual(rule.CidrIpv6, "::/0", JSON.stringify(rule));
        assert.notEqual(rule.IpProtocol, "-1", `all ports open: ${JSON.stringify(rule)}`);
        assert.ok(!(rule.FromPort! <= 22 && 22 <= rule.ToPort!), `port 22: ${JSON.stringify(rule)}`);
      }
    }
  });

  test("8200 is open from the function's security group and nothing else by default", () => {
    const vaultSg = idOf(t, "AWS::EC2::SecurityGroup", /^DemoVaultSecurityGroup/);
    const functionSg = idOf(t, "AWS::EC2::SecurityGroup", /^FunctionSg/);
    const rules = ingressRules(t).filter((r) => r.group === vaultSg);
    assert.deepEqual(
      rules.map(({ group: _group, ...rule }) => ({ ...rule, Description: undefined })),
      [{ IpProtocol: "tcp", FromPort: 8200, ToPort: 8200, SourceSecurityGroupId: groupRef(functionSg), Description: undefined }],
    );
    // Outbound stays open: the instance downloads OpenBao and calls Secrets Manager.
    const [, sg] = resources(t, "AWS::EC2::SecurityGroup").find(([id]) => id === vaultSg)!;
    assert.deepEqual((sg.Properties.SecurityGroupEgress as { CidrIp: string; IpProtocol: string }[]).map((e) => [e.CidrIp, e.IpProtocol]), [["0.0.0.0/0", "-1"]]);
  });

  test("inboundCidr opens 8200 (and only 8200) from that CIDR too", () => {
    const withCidr = synth({ inboundCidr: "203.0.113.0/24" });
    const vaultSg = idOf(withCidr, "AWS::EC2::SecurityGroup", /^DemoVaultSecurityGroup/);
    const fromCidr = ingressRules(withCidr).filter((r) => r.group === vaultSg && r.CidrIp !== undefined);
    assert.deepEqual(
      fromCidr.map((r) => [r.CidrIp, r.IpProtocol, r.FromPort, r.ToPort]),
      [["203.0.113.0/24", "tcp", 8200, 8200]],
    );
    const v6 = synth({ inboundCidr: "2001:db8::/48" });
    assert.ok(ingressRules(v6).some((r) => r.CidrIpv6 === "2001:db8::/48" && r.FromPort === 8200 && r.ToPort === 8200));
  });

  test("a bad inboundCidr is rejected with the setting's name", () => {
    for (const bad of ["10.0.0.0", "10.0.0.300/24", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8/1", "vault.example.com/32", "2001:db8::/129", " 10.0.0.0/8"]) {
      assert.throws(() => build({ inboundCidr: bad }), /vaultInboundCidr.*expected a CIDR/, bad);
    }
  });

  test("a mount that is not a plain path is rejected (it is written into a shell script)", () => {
    for (const bad of ["", "a b", "x'; rm -rf /; '", "/leading", "trailing/", "$(id)"]) {
      assert.throws(() => build({ mount: bad }), /DemoVault mount/, bad);
    }
  });

  test("the role: PutSecretValue only on the two secrets, GetSecretValue only on the init secret, the key only via Secrets Manager", () => {
    const connection = idOf(t, "AWS::SecretsManager::Secret", /^ConnectionSecret/);
    const init = idOf(t, "AWS::SecretsManager::Secret", /^DemoVaultInitSecret/);
    const key = idOf(t, "AWS::KMS::Key", /^Key/);
    const region = "eu-west-1";
    assert.deepEqual(instanceStatements(t), [
      { Sid: "WriteConnectionAndInitSecrets", Effect: "Allow", Action: "secretsmanager:PutSecretValue", Resource: [{ Ref: connection }, { Ref: init }] },
      { Sid: "ReadInitSecretToUnseal", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: { Ref: init } },
      {
        Sid: "UseTheKeyOnlyThroughSecretsManagerForTheseSecrets",
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: { "Fn::GetAtt": [key, "Arn"] },
        Condition: {
          StringEquals: { "kms:ViaService": { "Fn::Join": ["", [`secretsmanager.${region}.`, { Ref: "AWS::URLSuffix" }]] } },
          StringLike: { "kms:EncryptionContext:SecretARN": [{ Ref: connection }, { Ref: init }] },
        },
      },
    ]);
    for (const st of instanceStatements(t)) {
      const actions = ([] as string[]).concat(st.Action);
      assert.ok(!actions.some((a) => a.endsWith("*")), `wildcard action in ${st.Sid}`);
      assert.ok(!JSON.stringify(st.Resource).includes('"*"'), `wildcard resource in ${st.Sid}`);
    }
    // Session Manager instead of SSH: the managed core policy, nothing else managed.
    const [, role] = only(t, "AWS::IAM::Role");
    assert.deepEqual(JSON.stringify(role.Properties.ManagedPolicyArns).match(/policy\/[\w-]+/g), ["policy/AmazonSSMManagedInstanceCore"]);
    // The policy exists before the instance boots and runs the script that needs it.
    const [, instance] = only(t, "AWS::EC2::Instance") as [string, Resource & { DependsOn?: string[] }];
    assert.ok(instance.DependsOn?.some((d) => /InstanceRoleDefaultPolicy/.test(d)));
  });

  test("the init secret: encrypted with the key, outside the replicated prefix, deleted with the stack", () => {
    const init = idOf(t, "AWS::SecretsManager::Secret", /^DemoVaultInitSecret/);
    const [, secret] = resources(t, "AWS::SecretsManager::Secret").find(([id]) => id === init)!;
    // CDK gives the connection secret's name as an expression on its ARN; the init secret's name
    // is that name under demo-vault-init/ (the function's prefix is hybrid-aws-secrets/).
    const { stack, connectionSecret } = build();
    assert.deepEqual(secret.Properties.Name, { "Fn::Join": ["", ["demo-vault-init/", stack.resolve(connectionSecret.secretName)]] });
    assert.deepEqual(secret.Properties.KmsKeyId, { "Fn::GetAtt": [idOf(t, "AWS::KMS::Key", /^Key/), "Arn"] });
    assert.equal(secret.Properties.SecretString, undefined, "no value in the template");
    assert.equal(secret.DeletionPolicy, "Delete");
  });

  test("address is http://<private ip>:8200", () => {
    const { stack, vault } = build();
    assert.deepEqual(stack.resolve(vault.address), {
      "Fn::Join": ["", ["http://", { "Fn::GetAtt": [idOf(Template.fromStack(stack), "AWS::EC2::Instance", /^DemoVaultInstance/), "PrivateIp"] }, ":8200"]],
    });
  });
});

describe("DemoVault boot script", () => {
  const t = synth();
  const script = userData(t);
  const connection = idOf(t, "AWS::SecretsManager::Secret", /^ConnectionSecret/);
  const init = idOf(t, "AWS::SecretsManager::Secret", /^DemoVaultInitSecret/);

  test("installs the pinned OpenBao RPM from its GitHub release", () => {
    assert.match(OPENBAO_VERSION, /^2\.\d+\.\d+$/);
    assert.ok(
      script.includes(`dnf install -y jq 'https://github.com/openbao/openbao/releases/download/v${OPENBAO_VERSION}/openbao_${OPENBAO_VERSION}_linux_arm64.rpm'`),
    );
  });

  test("configures file storage and the plain-HTTP demo listener, and unseals on every start", () => {
    assert.ok(script.includes('path = "/opt/openbao/data"'));
    assert.match(script, /address {5}= "0\.0\.0\.0:8200"\n {2}tls_disable = true/);
    assert.ok(script.includes("WantedBy=openbao.service"));
    assert.ok(script.includes("ExecStart=/usr/local/sbin/openbao-unseal"));
    assert.ok(script.includes(`aws secretsmanager get-secret-value --secret-id '<Ref:${init}>'`));
  });

  test("initialises with one key, stores the result in the init secret, enables the KV v2 mount with two samples", () => {
    assert.ok(script.includes("bao operator init -key-shares=1 -key-threshold=1 -format=json > /run/openbao-init.json"));
    assert.ok(script.includes(`put-secret-value --secret-id '<Ref:${init}>' --secret-string file:///run/openbao-init.json > /dev/null`));
    assert.ok(script.includes("MOUNT='hybrid-aws-secrets'"));
    assert.ok(script.includes('bao secrets enable -path="$MOUNT" -version=2 kv'));
    assert.equal(script.match(/bao kv put -mount="\$MOUNT" /g)?.length, 2);
    assert.ok(script.includes("/dev/urandom"));
  });

  test("writes the read-only policy and a periodic token with only that policy into the connection secret", () => {
    assert.ok(script.includes(`POLICY='${DEMO_POLICY_NAME}'`));
    for (const path of ['path "hybrid-aws-secrets/*" {\n  capabilities = ["read", "list"]', 'path "hybrid-aws-secrets/detailed-metadata/*" {\n  capabilities = ["read", "list", "scan"]']) {
      assert.ok(script.includes(path), path);
    }
    assert.doesNotMatch(script, /"(create|update|delete|sudo)"[^\n]*\n?[^\n]*hybrid-aws-secrets/);
    assert.ok(script.includes('bao token create -orphan -no-default-policy -policy="$POLICY" -period=24h'));
    assert.ok(script.includes("'{vaultAddress: $address, vaultToken: .auth.client_token}'"));
    assert.ok(script.includes(`put-secret-value --secret-id '<Ref:${connection}>' --secret-string file:///run/openbao-connection.json > /dev/null`));
  });

  test("holds no credential and never prints one", () => {
    assert.doesNotMatch(script, /\b(hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9]{20,}/, "no token literal");
    assert.doesNotMatch(script, /"vaultToken"\s*:\s*"/, "no token value in a JSON literal");
    assert.doesNotMatch(script, /set -[a-wyz]*x|bash -x|xtrace/, "no tracing");
    // Every command whose output carries a token or the unseal key goes to a file or /dev/null.
    for (const line of script.split("\n").filter((l) => /operator init|token create|get-secret-value|put-secret-value/.test(l))) {
      assert.match(line, /> \/(run|dev\/null)|\\$/, line);
    }
    assert.doesNotMatch(script, /echo[^\n]*\$(BAO_TOKEN|status|imds)\b/);
  });

  test("is valid bash, and so is the unseal script it installs", () => {
    const text = demoVaultUserData({ mount: "hybrid-aws-secrets", connectionSecretId: "conn", initSecretId: "init", region: "eu-west-1" });
    const unseal = /<<'SH'\n([\s\S]*?)\nSH\n/.exec(text)?.[1];
    assert.ok(unseal?.startsWith("#!/bin/bash\n"));
    const dir = mkdtempSync(join(tmpdir(), "sb-demo-vault-"));
    for (const [name, body] of [["user-data.sh", text], ["openbao-unseal.sh", unseal ?? ""]]) {
      writeFileSync(join(dir, name!), body!);
      execFileSync("bash", ["-n", join(dir, name!)]);
    }
  });
});

describe("demoVpc", () => {
  const t = synth();

  test("two AZs, public and isolated subnets, no NAT gateway", () => {
    t.resourceCountIs("AWS::EC2::NatGateway", 0);
    t.resourceCountIs("AWS::EC2::EIP", 0);
    const subnets = resources(t, "AWS::EC2::Subnet").map(([id]) => id.replace(/Subnet[0-9A-F]{8}$/, "")).sort();
    assert.deepEqual(subnets, ["VpcIsolatedSubnet1", "VpcIsolatedSubnet2", "VpcPublicSubnet1", "VpcPublicSubnet2"]);
    // Only the public subnets route anywhere: the isolated ones have no default route at all.
    const routes = resources(t, "AWS::EC2::Route").map(([id, r]) => [id.replace(/[0-9A-F]{8}$/, ""), Object.keys(r.Properties).includes("GatewayId")]);
    assert.deepEqual(routes, [["VpcPublicSubnet1DefaultRoute", true], ["VpcPublicSubnet2DefaultRoute", true]]);
  });
});

describe("addInterfaceEndpoints", () => {
  const t = synth();

  test("Secrets Manager, KMS, SNS and STS, with private DNS, in the isolated subnets", () => {
    assert.deepEqual(ENDPOINT_SERVICES, ["secretsmanager", "kms", "sns", "sts"]);
    const endpoints = resources(t, "AWS::EC2::VPCEndpoint").map(([, r]) => r.Properties);
    assert.deepEqual(endpoints.map((e) => e.ServiceName), ENDPOINT_SERVICES.map((s) => `com.amazonaws.eu-west-1.${s}`));
    for (const e of endpoints) {
      assert.equal(e.VpcEndpointType, "Interface");
      assert.equal(e.PrivateDnsEnabled, true);
      assert.deepEqual((e.SubnetIds as { Ref: string }[]).map((s) => s.Ref.replace(/Subnet[0-9A-F]{8}$/, "")), ["VpcIsolatedSubnet1", "VpcIsolatedSubnet2"]);
    }
  });

  test("one security group for all four: 443 from the clients only, no egress", () => {
    const endpointSg = idOf(t, "AWS::EC2::SecurityGroup", /^InterfaceEndpointsSecurityGroup/);
    for (const [, e] of resources(t, "AWS::EC2::VPCEndpoint")) assert.deepEqual(e.Properties.SecurityGroupIds, [groupRef(endpointSg)]);
    const functionSg = idOf(t, "AWS::EC2::SecurityGroup", /^FunctionSg/);
    assert.deepEqual(
      ingressRules(t)
        .filter((r) => r.group === endpointSg)
        .map((r) => [r.SourceSecurityGroupId, r.CidrIp, r.IpProtocol, r.FromPort, r.ToPort]),
      [[groupRef(functionSg), undefined, "tcp", 443, 443]],
    );
    const [, sg] = resources(t, "AWS::EC2::SecurityGroup").find(([id]) => id === endpointSg)!;
    // CDK's way of saying "no egress": a rule that matches nothing.
    assert.deepEqual(sg.Properties.SecurityGroupEgress, [{ CidrIp: "255.255.255.255/32", Description: "Disallow all traffic", FromPort: 252, IpProtocol: "icmp", ToPort: 86 }]);
  });

  test("several clients (the function and the demo server, which also calls Secrets Manager) each get 443", () => {
    const stack = new Stack(new App(), "Endpoints", { env: ENV });
    const vpc = demoVpc(stack, "Vpc");
    const clients = [new ec2.SecurityGroup(stack, "FunctionSg", { vpc }), new ec2.SecurityGroup(stack, "VaultSg", { vpc })];
    const endpoints = addInterfaceEndpoints(stack, vpc, { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, new ec2.Connections({ securityGroups: clients }));
    assert.equal(endpoints.length, 4);
    const t2 = Template.fromStack(stack);
    const endpointSg = idOf(t2, "AWS::EC2::SecurityGroup", /^InterfaceEndpointsSecurityGroup/);
    const sources = ingressRules(t2)
      .filter((r) => r.group === endpointSg)
      .map((r) => [(r.SourceSecurityGroupId as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0].replace(/[0-9A-F]{8}$/, ""), r.FromPort, r.ToPort]);
    assert.deepEqual(sources, [["FunctionSg", 443, 443], ["VaultSg", 443, 443]]);
  });
});

describe("wiring the demo server and the endpoints together", () => {
  test("the demo server is IConnectable: added as an endpoint client afterwards, it gets 443 too (private DNS sends its Secrets Manager calls to the endpoints)", () => {
    const stack = new Stack(new App(), "Wired", { env: ENV });
    const vpc = demoVpc(stack, "Vpc");
    const key = new kms.Key(stack, "Key");
    const connectionSecret = new secretsmanager.Secret(stack, "ConnectionSecret", { encryptionKey: key });
    const functionSg = new ec2.SecurityGroup(stack, "FunctionSg", { vpc });
    const endpoints = addInterfaceEndpoints(stack, vpc, { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, functionSg);
    const vault = new DemoVault(stack, "DemoVault", { vpc, connectionSecret, encryptionKey: key, mount: "hybrid-aws-secrets", clientSecurityGroup: functionSg });
    for (const endpoint of endpoints) endpoint.connections.allowDefaultPortFrom(vault);
    const t = Template.fromStack(stack);
    const endpointSg = idOf(t, "AWS::EC2::SecurityGroup", /^InterfaceEndpointsSecurityGroup/);
    const sources = ingressRules(t)
      .filter((r) => r.group === endpointSg)
      .map((r) => [(r.SourceSecurityGroupId as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0].replace(/[0-9A-F]{8}$/, ""), r.FromPort]);
    assert.deepEqual(sources, [["FunctionSg", 443], ["DemoVaultSecurityGroup", 443]]);
  });
});

describe("without an environment (env-agnostic stack)", () => {
  const t = synth({ env: null });

  test("synthesizes with Region tokens: endpoints, the KMS condition and the script", () => {
    const endpoints = resources(t, "AWS::EC2::VPCEndpoint").map(([, r]) => JSON.stringify(r.Properties.ServiceName));
    assert.equal(endpoints.length, 4);
    for (const [i, s] of ENDPOINT_SERVICES.entries()) assert.ok(endpoints[i]!.includes('"AWS::Region"') && endpoints[i]!.includes(`.${s}`), endpoints[i]);
    assert.ok(userData(t).includes("export AWS_DEFAULT_REGION='<Ref:AWS::Region>'"));
    const kmsStatement = instanceStatements(t).find((s) => s.Sid === "UseTheKeyOnlyThroughSecretsManagerForTheseSecrets");
    assert.ok(JSON.stringify(kmsStatement?.Condition).includes('{"Ref":"AWS::Region"}'));
    assert.equal(only(t, "AWS::EC2::Instance")[1].Properties.InstanceType, "t4g.small");
    t.resourceCountIs("AWS::EC2::NatGateway", 0);
  });
});
