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
