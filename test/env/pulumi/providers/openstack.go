package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-provider-openstack/terraform-provider-openstack/openstack"
)

// OpenStackVersion is the plugin version @pulumi/openstack 3.15.2 asks the engine for. Its
// provider was built from terraform-provider-openstack v1.54.1, the version required here.
const OpenStackVersion = "3.15.2"

// openStackResources maps the Terraform resources the program uses to the tokens of
// @pulumi/openstack 3.15.2 (read from its JavaScript: `__pulumiType`), plus the key pair the
// tests create. Property names follow the bridge's standard renaming, as upstream's do for these
// resources; the subnet's two allocation-pool fields are renamed as upstream renames them.
var openStackResources = map[string]*tfbridge.ResourceInfo{
	"openstack_blockstorage_volume_v3":             {Tok: "openstack:blockstorage/volume:Volume"},
	"openstack_compute_instance_v2":                {Tok: "openstack:compute/instance:Instance"},
	"openstack_compute_keypair_v2":                 {Tok: "openstack:compute/keypair:Keypair"},
	"openstack_compute_volume_attach_v2":           {Tok: "openstack:compute/volumeAttach:VolumeAttach"},
	"openstack_identity_application_credential_v3": {Tok: "openstack:identity/applicationCredential:ApplicationCredential"},
	"openstack_networking_floatingip_v2":           {Tok: "openstack:networking/floatingIp:FloatingIp"},
	"openstack_networking_floatingip_associate_v2": {Tok: "openstack:networking/floatingIpAssociate:FloatingIpAssociate"},
	"openstack_networking_network_v2":              {Tok: "openstack:networking/network:Network"},
	"openstack_networking_port_v2":                 {Tok: "openstack:networking/port:Port"},
	"openstack_networking_router_v2":               {Tok: "openstack:networking/router:Router"},
	"openstack_networking_router_interface_v2":     {Tok: "openstack:networking/routerInterface:RouterInterface"},
	"openstack_networking_secgroup_v2":             {Tok: "openstack:networking/secGroup:SecGroup"},
	"openstack_networking_secgroup_rule_v2":        {Tok: "openstack:networking/secGroupRule:SecGroupRule"},
	"openstack_networking_subnet_v2": {
		Tok: "openstack:networking/subnet:Subnet",
		Fields: map[string]*tfbridge.SchemaInfo{
			"allocation_pool":  {Name: "allocationPools"},
			"allocation_pools": {Name: "allocationPoolsCollection"},
		},
	},
}

// openStackDataSources maps the data sources the program calls (`get*Output`).
var openStackDataSources = map[string]*tfbridge.DataSourceInfo{
	"openstack_compute_flavor_v2":     {Tok: "openstack:compute/getFlavor:getFlavor"},
	"openstack_networking_network_v2": {Tok: "openstack:networking/getNetwork:getNetwork"},
	"openstack_networking_subnet_v2":  {Tok: "openstack:networking/getSubnet:getSubnet"},
}

func serveOpenStack() {
	p := shimv2.NewProvider(openstack.Provider())
	info := tfbridge.ProviderInfo{
		P:           p,
		Name:        "openstack",
		Version:     OpenStackVersion,
		Resources:   openStackResources,
		DataSources: openStackDataSources,
	}
	info.IgnoreMappings = unmapped(p, info)
	// Filled by the schema generation below, as the upstream build's tfgen step fills
	// bridge-metadata.json.
	info.MetadataInfo = tfbridge.NewProviderMetadata(nil)
	tfbridge.Main(info.Name, info.Version, info, packageSchema(info))
}
