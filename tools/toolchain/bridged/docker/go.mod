module permacoop.local/pulumi-docker

go 1.26

require (
github.com/pulumi/pulumi-terraform-bridge/v3 v3.137.0
github.com/pulumi/pulumi/pkg/v3 v3.259.0
github.com/pulumi/pulumi/sdk/v3 v3.259.0
github.com/terraform-providers/terraform-provider-docker v0.0.0-20260916201441-96d331c98ff4
github.com/terraform-providers/terraform-provider-docker/shim v0.0.0
)

replace github.com/terraform-providers/terraform-provider-docker/shim => ./shim

replace github.com/terraform-providers/terraform-provider-docker => github.com/kreuzwerker/terraform-provider-docker v0.0.0-20260916201441-96d331c98ff4

replace github.com/hashicorp/terraform-plugin-sdk/v2 => github.com/pulumi/terraform-plugin-sdk/v2 v2.0.0-20260318212141-5525259d096b
