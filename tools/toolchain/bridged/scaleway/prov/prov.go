// Package prov maps the Terraform scaleway provider onto the Pulumi tokens used
// by the @pulumiverse/scaleway SDK: a module token for every resource and
// function, plus the deprecated `index` token as an aliased legacy copy where
// the SDK still ships one.
package prov

import (
	"context"
	_ "embed"
	"sort"
	"strings"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/scaleway/terraform-provider-scaleway/v2/provider"
)

// Version is set at link time.
var Version = "0.0.0-dev"

//go:embed bridge-metadata.json
var bridgeMetadata []byte

const pkg = "scaleway"

// Terraform name prefix -> Pulumi module (longest prefixes first).
var modules = [][2]string{
	{"apple_silicon", "applesilicon"}, {"edge_services", "edgeservices"}, {"key_manager", "keymanager"},
	{"s2s_vpn", "s2svpn"}, {"flexible_ip", "elasticmetal"}, {"audit_trail", "audittrail"},
	{"account", "account"}, {"annotations", "annotations"}, {"autoscaling", "autoscaling"},
	{"baremetal", "elasticmetal"}, {"billing", "billing"}, {"block", "block"}, {"cockpit", "observability"},
	{"container", "containers"}, {"datalab", "datalab"}, {"datawarehouse", "datawarehouse"},
	{"domain", "domain"}, {"function", "functions"}, {"iam", "iam"}, {"inference", "inference"},
	{"instance", "instance"}, {"interlink", "interlink"}, {"iot", "iot"}, {"ipam", "ipam"}, {"job", "job"},
	{"k8s", "kubernetes"}, {"kafka", "kafka"}, {"lb", "loadbalancers"}, {"mnq", "mnq"},
	{"mongodb", "mongodb"}, {"object", "object"}, {"opensearch", "opensearch"}, {"rdb", "databases"},
	{"redis", "redis"}, {"registry", "registry"}, {"secret", "secrets"}, {"tem", "tem"}, {"vpc", "network"},
	{"webhosting", "hosting"},
}

// Explicit module tokens ("module/Name") that the prefix rule does not produce;
// "" keeps only the legacy index token.
var resourceTokens = map[string]string{
	"scaleway_file_filesystem":         "",
	"scaleway_flexible_ip":             "elasticmetal/Ip",
	"scaleway_flexible_ip_mac_address": "elasticmetal/IpMacAddress",
	"scaleway_lb":                      "loadbalancers/LoadBalancer",
	"scaleway_object":                  "object/Item",
	"scaleway_webhosting":              "hosting/Hosting",
	"scaleway_sdb_sql_database":        "databases/ServerlessDatabase",
}

var dataSourceTokens = map[string]string{
	"scaleway_audit_trail_event":  "audittrail/getEvent",
	"scaleway_availability_zones": "account/getAvailabilityZones",
	"scaleway_cockpit":            "observability/getInstance",
	"scaleway_config":             "",
	"scaleway_datalabs":           "datalab/getDatalabs",
	"scaleway_flexible_ip":        "elasticmetal/getIp",
	"scaleway_flexible_ips":       "elasticmetal/getIps",
	"scaleway_lb":                 "loadbalancers/getLoadBalancer",
	"scaleway_lbs":                "loadbalancers/getLoadBalancers",
	"scaleway_marketplace_image":  "",
	"scaleway_object":             "object/get",
	"scaleway_vpcs":               "network/getVpcs",
	"scaleway_webhosting":         "hosting/getHosting",
}

// Per-resource field overrides matching the SDK's property shapes.
var resourceFields = map[string]map[string]*tfbridge.SchemaInfo{
	"scaleway_container": {"health_check": {MaxItemsOne: tfbridge.False()}},
}

// Terraform names (without the "scaleway_" prefix) that the SDK still exposes
// under a deprecated `index` token; "name=Member" gives a non-standard member name.
var legacyResources = parseLegacy(
	"account_project account_ssh_key apple_silicon_server baremetal_server block_snapshot block_volume " +
		"cockpit cockpit_alert_manager cockpit_grafana_user cockpit_source cockpit_token container " +
		"container_cron container_domain container_namespace container_token container_trigger domain_record " +
		"domain_zone edge_services_backend_stage edge_services_cache_stage edge_services_dns_stage " +
		"edge_services_head_stage edge_services_pipeline edge_services_plan edge_services_route_stage " +
		"edge_services_tls_stage edge_services_waf_stage file_filesystem flexible_ip flexible_ip_mac_address " +
		"function function_cron function_domain function_namespace function_token function_trigger " +
		"iam_api_key iam_application iam_group iam_group_membership iam_policy iam_ssh_key iam_user " +
		"inference_deployment instance_image instance_ip instance_ip_reverse_dns instance_placement_group " +
		"instance_private_nic instance_security_group instance_security_group_rules instance_server " +
		"instance_snapshot instance_user_data instance_volume iot_device iot_hub iot_network iot_route " +
		"ipam_ip ipam_ip_reverse_dns job_definition k8s_cluster=KubernetesCluster k8s_pool=KubernetesNodePool " +
		"key_manager_key lb=Loadbalancer lb_acl=LoadbalancerAcl lb_backend=LoadbalancerBackend " +
		"lb_certificate=LoadbalancerCertificate lb_frontend=LoadbalancerFrontend lb_ip=LoadbalancerIp " +
		"lb_route=LoadbalancerRoute mnq_nats_account mnq_nats_credentials mnq_sns mnq_sns_credentials " +
		"mnq_sns_topic mnq_sns_topic_subscription mnq_sqs mnq_sqs_credentials mnq_sqs_queue " +
		"mongodb_instance=MongoDbInstance mongodb_snapshot=MongoDbSnapshot object=ObjectItem object_bucket " +
		"object_bucket_acl object_bucket_lock_configuration object_bucket_policy " +
		"object_bucket_website_configuration rdb_acl=DatabaseAcl rdb_database=Database " +
		"rdb_database_backup=DatabaseBackup rdb_instance=DatabaseInstance rdb_privilege=DatabasePrivilege " +
		"rdb_read_replica=DatabaseReadReplica rdb_snapshot rdb_user=DatabaseUser redis_cluster " +
		"registry_namespace sdb_sql_database=SdbDatabase secret secret_version tem_domain " +
		"tem_domain_validation tem_webhook vpc vpc_gateway_network vpc_private_network vpc_public_gateway " +
		"vpc_public_gateway_dhcp vpc_public_gateway_dhcp_reservation vpc_public_gateway_ip " +
		"vpc_public_gateway_ip_reverse_dns vpc_public_gateway_pat_rule vpc_route webhosting ")

var legacyDataSources = parseLegacy(
	"account_project account_ssh_key availability_zones baremetal_offer baremetal_option baremetal_os " +
		"baremetal_server billing_consumptions billing_invoices block_snapshot block_volume cockpit " +
		"cockpit_source config container container_namespace domain_record domain_zone flexible_ip " +
		"flexible_ips function function_namespace iam_api_key iam_application iam_group iam_ssh_key iam_user " +
		"instance_image instance_ip instance_placement_group instance_private_nic instance_security_group " +
		"instance_server instance_servers instance_snapshot instance_volume iot_device iot_hub ipam_ip " +
		"ipam_ips k8s_cluster=getKubernetesCluster k8s_pool=getKubernetesNodePool k8s_version key_manager_key " +
		"lb=getLoadbalancer lb_acls lb_backend lb_backends lb_certificate=getLoadbalancerCertificate " +
		"lb_frontend lb_frontends lb_ip=getLoadbalancerIp lb_ips lb_route lb_routes lbs marketplace_image " +
		"mnq_sns mnq_sqs mongodb_instance=getMongoDbInstance object_bucket object_bucket_policy " +
		"rdb_acl=getDatabaseAcl rdb_database=getDatabase rdb_database_backup=getDatabaseBackup " +
		"rdb_instance=getDatabaseInstance rdb_privilege=getDatabasePrivilege redis_cluster registry_image " +
		"registry_image_tag registry_namespace secret secret_version tem_domain vpc vpc_gateway_network " +
		"vpc_private_network vpc_public_gateway vpc_public_gateway_dhcp vpc_public_gateway_dhcp_reservation " +
		"vpc_public_gateway_ip vpc_routes vpcs webhosting vpc_public_gateway_pat_rule=getVpcPublicPatRule " +
		"webhosting_offer=getWebHostOffer ")

func parseLegacy(s string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

func pascal(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

func lower1(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// newName returns the module and member name of a Terraform entity.
func newName(tf string, fn bool, explicit map[string]string) (mod, name string, ok bool) {
	if e, has := explicit[tf]; has {
		if e == "" {
			return "", "", false
		}
		i := strings.IndexByte(e, '/')
		return e[:i], e[i+1:], true
	}
	s := strings.TrimPrefix(tf, pkg+"_")
	for _, m := range modules {
		if s == m[0] || strings.HasPrefix(s, m[0]+"_") {
			rest := strings.TrimPrefix(strings.TrimPrefix(s, m[0]), "_")
			if rest == "" {
				rest = m[0]
			}
			n := pascal(strings.Split(rest, "_"))
			if fn {
				n = "get" + n
			}
			return m[1], n, true
		}
	}
	return "", "", false
}

// legacyName returns the index-module member name used by older SDKs, if any.
func legacyName(tf string, fn bool) (string, bool) {
	s := strings.TrimPrefix(tf, pkg+"_")
	table := legacyResources
	if fn {
		table = legacyDataSources
	}
	n, ok := table[s]
	if !ok {
		return "", false
	}
	if n == "" {
		n = pascal(strings.Split(s, "_"))
		if fn {
			n = "get" + n
		}
	}
	return n, true
}

func resTok(mod, name string) tokens.Type {
	return tokens.Type(pkg + ":" + mod + "/" + lower1(name) + ":" + name)
}

func fnTok(mod, name string) tokens.ModuleMember {
	return tokens.ModuleMember(pkg + ":" + mod + "/" + name + ":" + name)
}

// Provider returns the bridge configuration.
func Provider() tfbridge.ProviderInfo {
	ctx := context.Background()
	p := pf.MuxShimWithPF(ctx,
		shimv2.NewProvider(provider.SDKProvider(provider.DefaultConfig())()),
		provider.NewFrameworkProvider(nil)())
	info := tfbridge.ProviderInfo{
		P:            p,
		Name:         pkg,
		Version:      Version,
		DisplayName:  "Scaleway",
		Publisher:    "pulumiverse",
		GitHubOrg:    "scaleway",
		Description:  "A Pulumi package for creating and managing Scaleway cloud resources.",
		License:      "Apache-2.0",
		Homepage:     "https://www.scaleway.com",
		Repository:   "https://github.com/pulumiverse/pulumi-scaleway",
		MetadataInfo: tfbridge.NewProviderMetadata(bridgeMetadata),
		Resources:    map[string]*tfbridge.ResourceInfo{},
		DataSources:  map[string]*tfbridge.DataSourceInfo{},
		// Terraform provider functions that the SDK does not expose.
		IgnoreMappings: []string{"id_from_regional_id", "region_from_id"},
	}

	var names []string
	p.ResourcesMap().Range(func(k string, _ shim.Resource) bool { names = append(names, k); return true })
	sort.Strings(names)
	for _, tf := range names {
		lname, hasLegacy := legacyName(tf, false)
		mod, name, ok := newName(tf, false, resourceTokens)
		fields := resourceFields[tf]
		switch {
		case !ok && hasLegacy:
			info.Resources[tf] = &tfbridge.ResourceInfo{Tok: resTok("index", lname), Fields: fields}
		case !ok:
			n := pascal(strings.Split(strings.TrimPrefix(tf, pkg+"_"), "_"))
			info.Resources[tf] = &tfbridge.ResourceInfo{Tok: resTok("index", n), Fields: fields}
		case hasLegacy:
			info.RenameResourceWithAlias(tf, resTok("index", lname), resTok(mod, name), "index", mod,
				&tfbridge.ResourceInfo{Fields: fields})
		default:
			info.Resources[tf] = &tfbridge.ResourceInfo{Tok: resTok(mod, name), Fields: fields}
		}
	}

	names = names[:0]
	p.DataSourcesMap().Range(func(k string, _ shim.Resource) bool { names = append(names, k); return true })
	sort.Strings(names)
	for _, tf := range names {
		lname, hasLegacy := legacyName(tf, true)
		mod, name, ok := newName(tf, true, dataSourceTokens)
		switch {
		case !ok && hasLegacy:
			info.DataSources[tf] = &tfbridge.DataSourceInfo{Tok: fnTok("index", lname)}
		case !ok:
			n := "get" + pascal(strings.Split(strings.TrimPrefix(tf, pkg+"_"), "_"))
			info.DataSources[tf] = &tfbridge.DataSourceInfo{Tok: fnTok("index", n)}
		case hasLegacy:
			info.RenameDataSource(tf, fnTok("index", lname), fnTok(mod, name), "index", mod, nil)
		default:
			info.DataSources[tf] = &tfbridge.DataSourceInfo{Tok: fnTok(mod, name)}
		}
	}
	return info
}
