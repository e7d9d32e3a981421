/** What each stack declares (checked under mocks); the e2e preview with the real engine must plan exactly this. */
export const EXPECTED: Record<string, Record<string, number>> = {
  prod: {
    "command:remote:Command": 5,
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
    "command:remote:Command": 5,
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
  "command:local:Command": 4,
  "docker:index/remoteImage:RemoteImage": 1,
  "random:index/randomPassword:RandomPassword": 1,
};
