// Interface VPC endpoints for every AWS API the function calls, so a function in isolated subnets
// (no NAT, no internet gateway route) still reaches them and none of its traffic leaves the VPC.
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Construct } from "constructs";

export const ENDPOINT_SERVICES = ["secretsmanager", "kms", "sns", "sts"] as const;

const SERVICES: Record<(typeof ENDPOINT_SERVICES)[number], ec2.InterfaceVpcEndpointAwsService> = {
  secretsmanager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  kms: ec2.InterfaceVpcEndpointAwsService.KMS,
  sns: ec2.InterfaceVpcEndpointAwsService.SNS,
  sts: ec2.InterfaceVpcEndpointAwsService.STS,
};

/**
 * Interface endpoints with private DNS, in `subnets`, reachable on 443 from `clients` only.
 * Private DNS makes the public service names resolve to the endpoints for the whole VPC, so every
 * other caller in the VPC (a demo OpenBao instance writing its token, say) must be among `clients`
 * too: pass `new ec2.Connections({ securityGroups: [...] })` for several.
 */
export function addInterfaceEndpoints(scope: Construct, vpc: ec2.IVpc, subnets: ec2.SubnetSelection, clients: ec2.IConnectable): ec2.InterfaceVpcEndpoint[] {
  const group = new Construct(scope, "InterfaceEndpoints");
  const securityGroup = new ec2.SecurityGroup(group, "SecurityGroup", {
    vpc,
    description: "secretbridge interface endpoints: HTTPS from the function only",
    allowAllOutbound: false,
  });
  return ENDPOINT_SERVICES.map((name) => {
    const endpoint = new ec2.InterfaceVpcEndpoint(group, name, {
      vpc,
      service: SERVICES[name],
      subnets,
      privateDnsEnabled: true,
      securityGroups: [securityGroup],
      open: false,
    });
    endpoint.connections.allowDefaultPortFrom(clients, "HTTPS from secretbridge");
    return endpoint;
  });
}
