# writ's built-in policy-set version: allow exactly the requested scopes that the active grants cover and
# the resource defines, deny otherwise. Every zone starts on it. It reads no clock (policy time would be
# input.context.time) so explain and replay reproduce its decisions.
package writ.authz

determining_policies := ["writ.default.grants"]

# The shape this policy relies on; anything else falls through to the default (deny) result.
input_valid if {
	is_array(input.requested_scopes)
	is_array(input.resource.scopes)
	is_array(input.grants)
	every g in input.grants {
		is_array(g.scopes)
	}
}

requested := {s | some s in input.requested_scopes}

defined := {s | some s in input.resource.scopes}

granted := {s | some g in input.grants; some s in g.scopes}

undefined_scopes := {s | some s in requested; not s in defined}

# With no grant at all the answer is resource_not_granted; per-scope reasons would only repeat it.
ungranted_scopes := set() if count(input.grants) == 0

else := {s | some s in requested; s in defined; not s in granted}

resource_diagnostics := [{
	"reason": "resource_not_granted",
	"message": concat("", ["no active grant covers ", input.resource.identifier, " for this application and subject"]),
}] if {
	count(input.grants) == 0
} else := []

# An empty request is not "everything granted": a mandate without scopes is never issued.
request_diagnostics := [{"reason": "no_scopes_requested", "message": "the request names no scope"}] if {
	count(requested) == 0
} else := []

diagnostics := array.concat(
	array.concat(resource_diagnostics, request_diagnostics),
	array.concat(
		[{"reason": "scope_undefined", "scope": s, "message": "the resource does not define this scope"} |
			some s in sort(undefined_scopes)
		],
		[{"reason": "scope_not_granted", "scope": s, "message": "no active grant covers this scope"} |
			some s in sort(ungranted_scopes)
		],
	),
)

default result := {
	"decision": "deny",
	"scopes": [],
	"determining_policies": ["writ.default.grants"],
	"diagnostics": [{"reason": "policy_input_invalid", "message": "the input lacks requested_scopes, resource.scopes or grants[].scopes"}],
}

result := {
	"decision": "allow",
	"scopes": sort(requested),
	"determining_policies": determining_policies,
	"diagnostics": [],
} if {
	input_valid
	count(diagnostics) == 0
}

result := {
	"decision": "deny",
	"scopes": [],
	"determining_policies": determining_policies,
	"diagnostics": diagnostics,
} if {
	input_valid
	count(diagnostics) > 0
}
