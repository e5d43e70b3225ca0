/* The request's context as the expression engine sees it (types only).
 *
 * The gateway fills these plain structs from its own request, TLS and
 * snapshot objects; tests fill them directly. The engine only reads them
 * (except Variables, which set-variable writes through ctx.h). All slices are
 * borrowed: they must stay valid for the evaluation (they normally live in
 * the request arena, the connection buffers or the snapshot). */
#ifndef CG_EXPR_CTX_T_H
#define CG_EXPR_CTX_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"
#include "expr/value-t.h"

struct cg_expr_cert;

/* Chain validation the gateway provides (src/tls): returns true when the chain
 * builds to a trusted root and the time is valid (.NET Verify() never throws
 * for a bad certificate, so neither does this). */
typedef bool (*cg_expr_cert_verify_fn)(const struct cg_expr_cert *cert, void *user);

/* An X509Certificate2 as .NET presents it; every string is already in .NET
 * format (the tls module formats them once per handshake/snapshot). */
struct cg_expr_cert {
	struct cg_str thumbprint;    /* 40 uppercase hex digits, SHA-1 of the DER */
	struct cg_str subject;       /* "CN=a, O=b, S=c, C=d": reverse RDN order */
	struct cg_str issuer;
	struct cg_str serial_number; /* uppercase hex, as encoded */
	struct cg_str friendly_name; /* "" for certificates received over TLS */
	struct cg_str signature_algorithm_oid;
	struct cg_str simple_name;   /* GetNameInfo(SimpleName, false) */
	struct cg_str dns_name;      /* GetNameInfo(DnsName, false) */
	struct cg_str email_name;    /* GetNameInfo(EmailName, false) */
	struct cg_str issuer_simple_name; /* GetNameInfo(SimpleName, true) */
	struct cg_str raw_data;      /* the DER bytes (RawData, GetRawCertData()); may be empty */
	int64_t not_before;          /* .NET ticks, local time (Kind=Local) */
	int64_t not_after;
	int32_t version;             /* 3 for X.509 v3 */
	bool has_private_key;
	cg_expr_cert_verify_fn verify;               /* NULL: Verify() returns false */
	cg_expr_cert_verify_fn verify_no_revocation; /* NULL: returns false */
	void *verify_user;
	/* Set on a certificate decoded lazily, which holds only thumbprint,
	 * raw_data and the verify members: returns the complete one, or NULL
	 * when the DER cannot be decoded (read it through cg_expr_cert_full();
	 * expressions then throw, see cg_expr_cert_decoded). */
	const struct cg_expr_cert *(*full)(const struct cg_expr_cert *cert);
};

static inline const struct cg_expr_cert *cg_expr_cert_full(const struct cg_expr_cert *c)
{
	return c->full ? c->full(c) : c;
}

/* context.Deployment.Certificates: keyed by thumbprint. Built once per
 * snapshot with cg_expr_cert_table_build(); an open-addressing hash over the
 * thumbprints plus the insertion order for enumeration. */
struct cg_expr_cert_table {
	const struct cg_expr_cert **items; /* insertion order, n entries */
	uint32_t *slots;                   /* index+1 into items, 0 = empty; mask+1 slots */
	uint32_t n;
	uint32_t mask;
};

/* One header line. Several lines with one name are several values. */
struct cg_expr_header {
	struct cg_str name;
	struct cg_str value;
};

struct cg_expr_headers {
	const struct cg_expr_header *items;
	size_t n;
};

/* IReadOnlyDictionary<string,string>: MatchedParameters. */
struct cg_expr_strpair {
	struct cg_str key;
	struct cg_str value;
};

struct cg_expr_strmap {
	const struct cg_expr_strpair *items;
	size_t n;
};

/* IUrl. port is -1 when the URL has none and the scheme has no default. */
struct cg_expr_url {
	struct cg_str scheme; /* "https" */
	struct cg_str host;
	int32_t port;
	struct cg_str path;   /* "/api/x", no query */
	struct cg_str query_string; /* without the leading '?'; see docs */
};

/* context.Variables: a small map in the request arena (see ctx.h). */
struct cg_expr_var {
	struct cg_str name;
	struct cg_expr_value value;
};

struct cg_expr_vars {
	struct cg_expr_var *items;
	uint32_t n;
	uint32_t cap;
};

/* IMessageBody: the buffered body. A NULL pointer in a view is a null Body
 * (APIM: no body); the engine never consumes it (see docs). */
struct cg_expr_body {
	struct cg_str data;
};

struct cg_expr_request_view {
	struct cg_str method;
	struct cg_expr_url url;
	struct cg_expr_url original_url;
	struct cg_expr_headers headers;
	struct cg_str ip_address;
	struct cg_expr_strmap matched_parameters;
	const struct cg_expr_cert *certificate; /* NULL when the client sent none */
	const struct cg_expr_body *body;        /* NULL when there is no body */
};

struct cg_expr_response_view {
	int32_t status_code;
	struct cg_str status_reason;
	struct cg_expr_headers headers;
	const struct cg_expr_body *body;
};

struct cg_expr_api_view {
	struct cg_str id, name, path, revision, version;
	bool is_current_revision;
	bool http, https; /* Protocols: the schemes the API is served over */
	struct cg_expr_url service_url;
};

struct cg_expr_operation_view {
	struct cg_str id, name, method, url_template;
};

struct cg_expr_deployment_view {
	struct cg_str gateway_id, region, service_id, service_name;
	const struct cg_expr_cert_table *certificates; /* NULL = empty */
	struct cg_str gateway_instance_id; /* Gateway.InstanceId ("" = gateway_id) */
	bool gateway_is_managed;           /* Gateway.IsManaged: false for certgate */
};

struct cg_expr_lasterror_view {
	struct cg_str source, reason, message, scope, section, path, policy_id;
};

/* context.Subscription (ISubscription): the subscription whose key the
 * request carried. Dates are DateTime ticks (UTC). */
struct cg_expr_subscription_view {
	struct cg_str id, name, key, primary_key, secondary_key;
	int64_t created, start, end;
	bool has_start, has_end;
};

/* context.Product (IProduct): the product of a product subscription. */
struct cg_expr_product_view {
	struct cg_str id, name;
	bool published;              /* State: ProductState.Published, else NotPublished */
	bool subscription_required, approval_required;
	int64_t subscriptions_limit; /* -1 = null */
};

/* The whole view. NULL pointers read as null in expressions
 * (context.Response is null inbound, context.LastError outside on-error). */
struct cg_expr_context {
	struct cg_expr_request_view *request;
	struct cg_expr_response_view *response;
	struct cg_expr_api_view *api;
	struct cg_expr_operation_view *operation;
	struct cg_expr_deployment_view *deployment;
	struct cg_expr_lasterror_view *last_error;
	const struct cg_expr_subscription_view *subscription; /* NULL: no key (null) */
	const struct cg_expr_product_view *product;           /* NULL: no product (null) */
	struct cg_expr_vars *variables;
	uint8_t request_id[16];  /* .NET Guid byte order as printed (big-endian text order) */
	int64_t timestamp;       /* DateTime ticks, UTC (Kind=Utc) */
	int64_t now;             /* DateTime.UtcNow ticks for this evaluation; 0 = read the clock */
	bool tracing;
};

#endif
