module permacoop.local/pulumi-random

go 1.26

require (
github.com/pulumi/pulumi-terraform-bridge/v3 v3.137.0
github.com/pulumi/pulumi/pkg/v3 v3.259.0
github.com/pulumi/pulumi/sdk/v3 v3.259.0
github.com/terraform-providers/terraform-provider-random v1.3.2-0.20260824155315-e1092b0cfc07
github.com/terraform-providers/terraform-provider-random/shim v0.0.0
)

replace github.com/terraform-providers/terraform-provider-random/shim => ./shim

replace github.com/hashicorp/terraform-plugin-sdk/v2 => github.com/pulumi/terraform-plugin-sdk/v2 v2.0.0-20260318212141-5525259d096b
