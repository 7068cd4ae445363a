package tenant

import "fmt"

// The firewall profiles of a tenant's network namespace, as nftables
// rulesets loaded with `nft -f` inside it. Each replaces what the
// namespace had (it is the tenant's alone), so loading one again at every
// boot is the same as loading it once.

const firewallHeader = "flush ruleset\n"

var firewallProfiles = map[string]string{
	// Answers to what the namespace asked, and its own outgoing
	// connections; nothing else comes in, nothing is forwarded.
	"default": `table inet cairn_tenant {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
`,
	// The loopback interface only.
	"isolated": `table inet cairn_tenant {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy drop;
		oif "lo" accept
	}
}
`,
	// No rules.
	"open": "",
}

// FirewallRules is the nftables ruleset of a profile.
func FirewallRules(profile string) (string, error) {
	rules, ok := firewallProfiles[profile]
	if !ok {
		return "", fmt.Errorf("%q is not a firewall profile", profile)
	}
	return firewallHeader + rules, nil
}
