/** What each stack declares (checked under mocks); the e2e preview with the real engine must plan exactly this. */
export const EXPECTED: Record<string, Record<string, number>> = {
  prod: {
    "random:index/randomId:RandomId": 2, // the destroy guard, the stack's owner id
    "command:remote:Command": 7, // the environment-id probe, scripts, runtime, proxy, certificate, 2 rollouts
    "random:index/randomBytes:RandomBytes": 2,
    "random:index/randomPassword:RandomPassword": 2,
    "scaleway:databases/acl:Acl": 1,
    "scaleway:databases/database:Database": 1,
    "scaleway:databases/instance:Instance": 1,
    "scaleway:databases/privilege:Privilege": 1,
    "scaleway:databases/user:User": 1,
    "scaleway:domain/record:Record": 2,
    "scaleway:instance/ip:Ip": 2,
    "scaleway:instance/securityGroup:SecurityGroup": 1,
    "scaleway:instance/server:Server": 1,
  },
  rewrite: {
    "random:index/randomId:RandomId": 2, // the destroy guard, the stack's owner id
    "command:remote:Command": 7, // the environment-id probe, scripts, runtime, proxy, certificate, 2 rollouts
    "random:index/randomBytes:RandomBytes": 2,
    "random:index/randomPassword:RandomPassword": 2,
    "scaleway:databases/acl:Acl": 1,
    "scaleway:databases/database:Database": 1,
    "scaleway:databases/instance:Instance": 1,
    "scaleway:databases/privilege:Privilege": 1,
    "scaleway:databases/user:User": 1,
    "scaleway:instance/ip:Ip": 1,
    "scaleway:instance/securityGroup:SecurityGroup": 1,
    "scaleway:instance/server:Server": 1,
  },
};

EXPECTED.local = {
  "random:index/randomId:RandomId": 2, // the destroy guard, the stack's owner id
  "command:local:Command": 6, // the environment-id probe, scripts, data, runtime, proxy, the rollout
  "docker:index/remoteImage:RemoteImage": 1,
  "random:index/randomPassword:RandomPassword": 1,
};

/** The sample `scaleway-container` stack (test/support/serverlessStack.ts): no VM, no runtime commands. */
EXPECTED.serverless = {
  "random:index/randomId:RandomId": 1,
  "docker:index/registryImage:RegistryImage": 1,
  "docker:index/remoteImage:RemoteImage": 1,
  "random:index/randomPassword:RandomPassword": 2,
  "scaleway:containers/container:Container": 2,
  "scaleway:containers/domain:Domain": 3,
  "scaleway:containers/namespace:Namespace": 1,
  "scaleway:databases/database:Database": 1,
  "scaleway:databases/instance:Instance": 1,
  "scaleway:databases/privilege:Privilege": 1,
  "scaleway:databases/user:User": 1,
  "scaleway:domain/record:Record": 3,
  "scaleway:network/privateNetwork:PrivateNetwork": 1,
  "scaleway:network/vpc:Vpc": 1,
  "scaleway:registry/namespace:Namespace": 1,
};

/** `prod` with two VMs behind a Load Balancer (`host.count` 2): its stack file, one key changed (TWO_VMS). */
export const TWO_VMS = "prod-two-vms";
/** Pulumi.prod.yaml's `permacoop:host` made TWO_VMS's. */
export function twoVms(host: object): object {
  return { ...host, count: 2 };
}

EXPECTED[TWO_VMS] = {
  "random:index/randomId:RandomId": 2, // the destroy guard, the stack's owner id
  "command:remote:Command": 12, // per VM: the environment-id probe, scripts, runtime, proxy, 2 rollouts (the LB holds the certificate)
  "random:index/randomBytes:RandomBytes": 3, // a host key per VM, one deploy key
  "random:index/randomPassword:RandomPassword": 2,
  "scaleway:databases/acl:Acl": 1, // one entry per VM
  "scaleway:databases/database:Database": 1,
  "scaleway:databases/instance:Instance": 1,
  "scaleway:databases/privilege:Privilege": 1,
  "scaleway:databases/user:User": 1,
  "scaleway:domain/record:Record": 1, // the A record of the LB (IPv4 only)
  "scaleway:instance/ip:Ip": 4, // IPv4 and IPv6 per VM
  "scaleway:instance/privateNic:PrivateNic": 2,
  "scaleway:instance/securityGroup:SecurityGroup": 2,
  "scaleway:instance/server:Server": 2,
  "scaleway:ipam/ip:Ip": 2,
  "scaleway:loadbalancers/backend:Backend": 1,
  "scaleway:loadbalancers/certificate:Certificate": 1,
  "scaleway:loadbalancers/frontend:Frontend": 2, // 80 (redirects to HTTPS) and 443
  "scaleway:loadbalancers/ip:Ip": 1,
  "scaleway:loadbalancers/loadBalancer:LoadBalancer": 1,
  "scaleway:network/privateNetwork:PrivateNetwork": 1,
  "scaleway:network/vpc:Vpc": 1,
};
