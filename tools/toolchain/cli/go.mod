module permacoop.local/pulumi-cli

go 1.26
