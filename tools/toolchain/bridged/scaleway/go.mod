module permacoop.local/pulumi-scaleway

go 1.26

require (
github.com/pulumi/pulumi-terraform-bridge/v3 v3.137.0
github.com/pulumi/pulumi/pkg/v3 v3.259.0
github.com/pulumi/pulumi/sdk/v3 v3.259.0
github.com/scaleway/terraform-provider-scaleway/v2 v2.80.0
)

replace github.com/hashicorp/terraform-plugin-sdk/v2 => github.com/pulumi/terraform-plugin-sdk/v2 v2.0.0-20260318212141-5525259d096b
