// A small CDK app for the emulator's tests: an image built from ./web, served by a load-balanced
// Fargate service.
const path = require("path");
const cdk = require("aws-cdk-lib");
const ec2 = require("aws-cdk-lib/aws-ec2");
const ecs = require("aws-cdk-lib/aws-ecs");
const patterns = require("aws-cdk-lib/aws-ecs-patterns");

const app = new cdk.App();
const stack = new cdk.Stack(app, "EmulatorWeb", {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 2, natGateways: 0 });
const cluster = new ecs.Cluster(stack, "Cluster", { vpc });
const web = new patterns.ApplicationLoadBalancedFargateService(stack, "Web", {
  cluster,
  desiredCount: 1,
  assignPublicIp: true,
  taskSubnets: { subnetType: ec2.SubnetType.PUBLIC },
  taskImageOptions: { image: ecs.ContainerImage.fromAsset(path.join(__dirname, "web")), containerPort: 80 },
});
new cdk.CfnOutput(stack, "ClusterName", { value: cluster.clusterName });
new cdk.CfnOutput(stack, "ServiceName", { value: web.service.serviceName });
