/* certgate's command dispatcher: global options, the command table with
 * every command's --help text, --version, and the hand-off to `serve`. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <gnutls/gnutls.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "apiops/apiops.h"
#include "cli/cli-int.h"
#include "gw/serve.h"

#ifndef CG_VERSION
#define CG_VERSION "0.1.0"
#endif

struct cg_cli_cmd {
	const char *name; /* "host set" */
	cg_cli_cmd_fn fn;
	const char *synopsis;
	const char *help; /* what it does, then its options */
};

static const struct cg_cli_cmd commands[] = {
	{ "host set", cg_cli_host_set,
	  "host set NAME [--cert FILE] [--key FILE] [--[no-]negotiate-client-certificate]\n"
	  "                [--default]",
	  "Creates or updates a gateway hostname (APIM: a Proxy hostname configuration).\n"
	  "NAME is a DNS name (stored lowercase) or a wildcard like *.example.com. Clients\n"
	  "reach it through TLS SNI; the default hostname serves clients that send no SNI\n"
	  "or an unknown one.\n"
	  "\n"
	  "  --cert FILE   PEM file with the server certificate chain: the leaf first, then\n"
	  "                each intermediate that issued the one before it. Needed when\n"
	  "                creating; on update, omitted means keep the stored chain.\n"
	  "  --key FILE    PEM file with the leaf's private key (RSA or EC, not encrypted).\n"
	  "                Needed when creating; on update, omitted means keep the stored\n"
	  "                key. It must match the certificate. It is never printed.\n"
	  "  --negotiate-client-certificate\n"
	  "                Ask clients for a certificate during the TLS handshake (APIM\n"
	  "                negotiateClientCertificate). Any certificate is accepted at the\n"
	  "                TLS layer; policies decide. Default when creating: off.\n"
	  "  --no-negotiate-client-certificate\n"
	  "                Stop asking for client certificates.\n"
	  "  --default     Make this the default hostname (the previous default stops\n"
	  "                being it). The first hostname becomes the default by itself.\n"
	  "\n"
	  "An expired or not yet valid certificate, or one that does not name NAME, is\n"
	  "stored with a warning.\n"
	  "Example:\n"
	  "  certgate host set api.example.com --cert api.crt --key api.key \\\n"
	  "      --negotiate-client-certificate\n" },
	{ "host list", cg_cli_host_list, "host list [--json]",
	  "Lists hostnames with their default flag, client-certificate negotiation and\n"
	  "certificate expiry, thumbprint and subject.\n"
	  "\n"
	  "  --json        Print a JSON array (hostName, defaultSslBinding,\n"
	  "                negotiateClientCertificate, certificate{subject, issuer,\n"
	  "                thumbprint, notBefore, expirationDate, ...}).\n" },
	{ "host show", cg_cli_host_show, "host show NAME [--json]",
	  "Shows one hostname and its certificate: subject, issuer, thumbprint (uppercase\n"
	  "SHA-1 of the DER), validity, subject alternative names, key, chain length.\n"
	  "The private key is never shown.\n"
	  "\n"
	  "  --json        Print a JSON object (the same fields as host list --json).\n" },
	{ "host rm", cg_cli_host_rm, "host rm NAME",
	  "Removes a hostname. The default hostname cannot be removed while other\n"
	  "hostnames exist: make another one the default first (host set OTHER --default).\n" },
	{ "api set", cg_cli_api_set,
	  "api set ID [--path SUFFIX] [--backend URL] [--display-name TEXT]\n"
	  "           [--subscription-required true|false] [--subscription-key-header NAME]\n"
	  "           [--subscription-key-query NAME] [--protocols https|http,https|http]",
	  "Creates or updates an API. ID is 1-80 letters, digits, '-', '.' or '_'.\n"
	  "\n"
	  "  --path SUFFIX       The API URL suffix (APIM path): requests to\n"
	  "                      https://HOST/SUFFIX/... go to this API. Leading and\n"
	  "                      trailing '/' are dropped; '' or '/' is the root. No '?',\n"
	  "                      '#', '//', '.' or '..' segments. Unique among APIs.\n"
	  "                      Needed when creating.\n"
	  "  --backend URL       The backend base URL (APIM serviceUrl): http:// or\n"
	  "                      https://, a host, an optional port and path; no query,\n"
	  "                      fragment or user info. Needed when creating.\n"
	  "  --display-name TEXT A human name (default: the ID).\n"
	  "  --subscription-required true|false\n"
	  "                      Whether callers need a subscription key (APIM\n"
	  "                      subscriptionRequired; see 'sub set'). Default: false.\n"
	  "  --subscription-key-header NAME\n"
	  "                      The header carrying the key (default\n"
	  "                      Ocp-Apim-Subscription-Key).\n"
	  "  --subscription-key-query NAME\n"
	  "                      The query parameter carrying the key (default\n"
	  "                      subscription-key).\n"
	  "  --protocols LIST    The URL schemes the API is served over (APIM\n"
	  "                      protocols): https, http or http,https. A request over\n"
	  "                      a scheme not listed gets 404, as an unknown path.\n"
	  "                      Default on create: http,https (as before APIs had\n"
	  "                      protocols; APIM's is https: pass --protocols https).\n"
	  "\n"
	  "On update, omitted options keep their stored values.\n"
	  "Example:\n"
	  "  certgate api set orders --path orders --backend http://10.0.0.5:8080/api\n" },
	{ "api list", cg_cli_api_list, "api list [--json]",
	  "Lists APIs: ID, path, backend, number of operations, display name.\n"
	  "\n"
	  "  --json        Print a JSON array of APIs (id, displayName, path, serviceUrl,\n"
	  "                operations[]).\n" },
	{ "api show", cg_cli_api_show, "api show ID [--json]",
	  "Shows one API and a table of its operations.\n"
	  "\n"
	  "  --json        Print a JSON object (as one element of api list --json).\n" },
	{ "api rm", cg_cli_api_rm, "api rm ID", "Removes an API and all its operations.\n" },
	{ "op set", cg_cli_op_set,
	  "op set API-ID OP-ID [--method M] [--url-template T] [--display-name TEXT]",
	  "Creates or updates an operation of an existing API. OP-ID follows the same\n"
	  "rules as API ids.\n"
	  "\n"
	  "  --method M          An HTTP method (GET, POST, ...; stored uppercase) or '*'\n"
	  "                      for any method. Needed when creating.\n"
	  "  --url-template T    Starts with '/'; {name} marks a path parameter (names\n"
	  "                      unique, of letters, digits, '_', '-', '.'); an optional\n"
	  "                      query part '?a={a}&b={b}'; or a final '/*' that matches\n"
	  "                      anything. Needed when creating.\n"
	  "  --display-name TEXT A human name (default: the OP-ID).\n"
	  "\n"
	  "Two operations of one API may not share the method and template (parameter\n"
	  "names do not count). On update, omitted options keep their stored values.\n"
	  "Example:\n"
	  "  certgate op set orders get-order --method GET --url-template '/orders/{id}'\n" },
	{ "op list", cg_cli_op_list, "op list API-ID [--json]",
	  "Lists the operations of an API: ID, method, URL template, display name.\n"
	  "\n"
	  "  --json        Print a JSON array (id, displayName, method, urlTemplate).\n" },
	{ "op show", cg_cli_op_show, "op show API-ID OP-ID [--json]",
	  "Shows one operation.\n"
	  "\n"
	  "  --json        Print a JSON object.\n" },
	{ "op rm", cg_cli_op_rm, "op rm API-ID OP-ID", "Removes one operation of an API.\n" },
	{ "policy set", cg_cli_policy_set,
	  "policy set [--product ID | --api ID [--operation OP]] FILE [--format rawxml|xml]",
	  "Sets the policy document of a scope: global (no options), a product\n"
	  "(--product), an API (--api) or an operation (--api and --operation). A product's\n"
	  "policy runs between global and API for requests a key of a subscription to\n"
	  "the product granted. FILE holds <policies>...</policies> as APIM\n"
	  "stores it; '-' reads standard input. The document must load: named values\n"
	  "({{name}}) and fragments it includes must exist, every expression must compile.\n"
	  "Each problem is printed as FILE:line:col: message and nothing is stored.\n"
	  "Warnings are printed the same way; the policy is stored.\n"
	  "\n"
	  "  --product ID     The product whose policy this is.\n"
	  "  --api ID         The API whose policy this is.\n"
	  "  --operation OP   The operation (of --api) whose policy this is.\n"
	  "  --format F       rawxml (default: expressions hold raw '\"', '<', '&&', as APIM\n"
	  "                   exports them) or xml (a well-formed, escaped document).\n"
	  "Example:\n"
	  "  certgate policy set --api orders policy.xml\n" },
	{ "policy show", cg_cli_policy_show,
	  "policy show [--product ID | --api ID [--operation OP]] [--format rawxml|xml]",
	  "Prints the stored policy document of a scope, exactly as it was set.\n"
	  "\n"
	  "  --format F   Print it as rawxml or xml (APIM GET ?format=): a policy stored\n"
	  "               in the other format is converted; only expressions change.\n" },
	{ "policy rm", cg_cli_policy_rm, "policy rm [--product ID | --api ID [--operation OP]]",
	  "Removes the policy of a scope. Without a global policy the gateway forwards\n"
	  "requests (APIM's default); without an API or operation policy, the broader one\n"
	  "applies.\n" },
	{ "policy list", cg_cli_policy_list, "policy list [--json]",
	  "Lists the stored policies: scope, API, operation, format, size.\n"
	  "\n"
	  "  --json        Print a JSON array (scope, apiId, operationId, format, bytes).\n" },
	{ "policy check", cg_cli_policy_check,
	  "policy check FILE [--format rawxml|xml] [--scope global|product|api|operation]",
	  "Loads a policy document (or a <fragment>) as 'policy set' would, without storing\n"
	  "it, and prints every diagnostic as FILE:line:col: message. When the store exists,\n"
	  "its named values and fragments are used; otherwise references to them fail.\n"
	  "Exit status 1 when there are errors, 0 when there are only warnings or none.\n"
	  "\n"
	  "  --format F    rawxml (default) or xml.\n"
	  "  --scope S     Check a document as the policy of that scope: global (default),\n"
	  "                product, api or operation (these warn about sections without\n"
	  "                <base/>).\n"
	  "Example:\n"
	  "  certgate policy check policy.xml\n" },
	{ "nv set", cg_cli_nv_set,
	  "nv set NAME VALUE [--secret] [--tags T1,T2]\n"
	  "                nv set NAME --value-file FILE [--secret] [--tags T1,T2]",
	  "Creates or replaces a named value, used in policies as {{NAME}}. NAME is 1-256\n"
	  "letters, digits, '-', '.' or '_'. VALUE is 1-4096 bytes, not only whitespace.\n"
	  "When the named value exists, every policy and fragment that uses it is loaded\n"
	  "again with the new value; if one would fail, nothing changes.\n"
	  "\n"
	  "  --secret           Never show the value in list/show (show --reveal does).\n"
	  "  --value-file FILE  Read the value from FILE ('-': standard input) instead; one\n"
	  "                     final newline is dropped. Prefer it for secrets: command\n"
	  "                     lines are visible to other users.\n"
	  "  --tags T1,T2       Tags (letters, digits, '-', '.', '_'; at most 32).\n"
	  "Example:\n"
	  "  certgate nv set trusted-thumbprint 1F0A2B3C4D5E6F708192A3B4C5D6E7F801234567\n" },
	{ "nv list", cg_cli_nv_list, "nv list [--json]",
	  "Lists named values; secret values are shown as ***.\n"
	  "\n"
	  "  --json        Print a JSON array (name, secret, value: null when secret).\n" },
	{ "nv show", cg_cli_nv_show, "nv show NAME [--reveal] [--json]",
	  "Shows one named value. A secret value is shown as *** unless --reveal.\n"
	  "\n"
	  "  --reveal      Show a secret value.\n"
	  "  --json        Print a JSON object (name, secret, value, tags).\n" },
	{ "nv rm", cg_cli_nv_rm, "nv rm NAME",
	  "Removes a named value. Refused while a policy or fragment uses it; the message\n"
	  "names them.\n" },
	{ "fragment set", cg_cli_fragment_set,
	  "fragment set ID FILE [--description TEXT] [--format rawxml|xml]",
	  "Creates or replaces a policy fragment: FILE holds <fragment>...</fragment> ('-'\n"
	  "reads standard input). It must load on its own, and every policy that includes\n"
	  "it (<include-fragment fragment-id=\"ID\"/>) must still load with the new text;\n"
	  "otherwise nothing changes.\n"
	  "\n"
	  "  --description TEXT  A description (at most 1000 bytes; kept on update when\n"
	  "                      omitted).\n"
	  "  --format F          rawxml (default) or xml.\n"
	  "Example:\n"
	  "  certgate fragment set check-client-cert fragment.xml --description 'mTLS check'\n" },
	{ "fragment list", cg_cli_fragment_list, "fragment list [--json]",
	  "Lists fragments: ID, format, size, description.\n"
	  "\n"
	  "  --json        Print a JSON array of {id, properties{description, format}}.\n" },
	{ "fragment show", cg_cli_fragment_show, "fragment show ID [--format rawxml|xml] [--json]",
	  "Prints the text of a fragment as it was set.\n"
	  "\n"
	  "  --format F    Print it as rawxml or xml, converting if it is stored in the\n"
	  "                other format.\n"
	  "  --json        Print {id, properties{description, format, value}}.\n" },
	{ "fragment rm", cg_cli_fragment_rm, "fragment rm ID",
	  "Removes a fragment. Refused while a policy includes it; the message names the\n"
	  "policies.\n" },
	{ "cert add", cg_cli_cert_add, "cert add ID FILE [--password-file F]",
	  "Adds or replaces a certificate (APIM certificates entity): policies see it in\n"
	  "context.Deployment.Certificates, keyed by thumbprint. FILE is PEM (one\n"
	  "certificate, optionally followed by its unencrypted private key), DER (.cer) or\n"
	  "PKCS#12 (.pfx/.p12). A private key that comes with it is stored for backend\n"
	  "mTLS and never shown; it must match the certificate. ID is like an API id.\n"
	  "\n"
	  "  --password-file F  The PKCS#12 password, read from file F (one final newline\n"
	  "                     is dropped). Without it the empty password is used.\n"
	  "\n"
	  "The same certificate cannot be stored under two ids. An expired certificate is\n"
	  "stored with a warning.\n"
	  "Example:\n"
	  "  certgate cert add partner-a partner-a.pfx --password-file pfx.pass\n" },
	{ "cert list", cg_cli_cert_list, "cert list [--json]",
	  "Lists certificates: ID, thumbprint, expiry, whether a key is stored, subject.\n"
	  "\n"
	  "  --json        Print a JSON array of APIM certificate resources.\n" },
	{ "cert show", cg_cli_cert_show, "cert show ID [--json]",
	  "Shows one certificate as APIM does: subject, thumbprint, expirationDate\n"
	  "(yyyy-MM-ddTHH:mm:ssZ), plus issuer and validity start. Never the key.\n"
	  "\n"
	  "  --json        Print {id, name, type, properties{subject, thumbprint,\n"
	  "                expirationDate, issuer, notBefore, hasPrivateKey}}.\n" },
	{ "cert rm", cg_cli_cert_rm, "cert rm ID",
	  "Removes a certificate. Refused while a backend presents it, or an\n"
	  "<authentication-certificate> in a policy or fragment names it (certificate-id\n"
	  "or thumbprint).\n" },
	{ "ca add", cg_cli_ca_add, "ca add ID FILE [--intermediate] [--password-file F]",
	  "Adds or replaces a CA certificate used to validate client certificate chains\n"
	  "(Verify(), validate-client-certificate) and backend certificates. FILE is PEM,\n"
	  "DER or PKCS#12 (a key in it is ignored). Certificates that are not CAs\n"
	  "(basicConstraints CA:FALSE) are refused.\n"
	  "\n"
	  "  --intermediate     An intermediate CA (APIM store CertificateAuthority);\n"
	  "                     default: a trusted root (APIM store Root).\n"
	  "  --password-file F  The PKCS#12 password, read from file F.\n"
	  "Example:\n"
	  "  certgate ca add contoso-root root.cer\n" },
	{ "ca list", cg_cli_ca_list, "ca list [--json]",
	  "Lists CA certificates: ID, store (Root or CertificateAuthority), thumbprint,\n"
	  "expiry, subject.\n"
	  "\n"
	  "  --json        Print a JSON array ({id, storeName, certificate{subject,\n"
	  "                thumbprint, expiry}}).\n" },
	{ "ca rm", cg_cli_ca_rm, "ca rm ID", "Removes a CA certificate.\n" },
	{ "crl add", cg_cli_crl_add, "crl add ID FILE",
	  "Stores a certificate revocation list (PEM or DER) for an uploaded CA certificate.\n"
	  "Refused unless its issuer is an uploaded CA whose key signed it. Used by Verify()\n"
	  "and validate-client-certificate's validate-revocation; replace it with a fresh one\n"
	  "before its nextUpdate (a stale CRL fails closed).\n" },
	{ "crl list", cg_cli_crl_list, "crl list [--json]", "Lists the stored CRLs.\n" },
	{ "crl rm", cg_cli_crl_rm, "crl rm ID", "Removes a CRL.\n" },
	{ "backend set", cg_cli_backend_set,
	  "backend set ID [--url URL] [--client-cert CERT-ID | --no-client-cert]\n"
	  "                [--[no-]validate-chain] [--[no-]validate-name]\n"
	  "                [--circuit-breaker JSON | --no-circuit-breaker]\n"
	  "                [--pool ID[:PRIORITY[:WEIGHT]],... | --no-pool]",
	  "Creates or updates a backend (APIM backends entity), the target of\n"
	  "set-backend-service backend-id=\"ID\". ID is like an API id.\n"
	  "\n"
	  "  --url URL              http:// or https:// base URL. Needed when creating.\n"
	  "  --client-cert CERT-ID  A stored certificate with its private key ('cert add'\n"
	  "                         from a PFX) that the gateway presents for mTLS.\n"
	  "  --no-client-cert       Stop presenting one.\n"
	  "  --no-validate-chain    Do not validate the backend's certificate chain (APIM\n"
	  "                         tls.validateCertificateChain=false). Default: validate.\n"
	  "  --no-validate-name     Do not check the backend's certificate names against\n"
	  "                         its host (tls.validateCertificateName=false).\n"
	  "  --validate-chain, --validate-name  Turn the checks back on.\n"
	  "  --circuit-breaker JSON APIM's circuitBreaker object, e.g. '{\"rules\": [{\"name\":\n"
	  "                         \"r\", \"failureCondition\": {\"count\": 3, \"interval\": \"PT1M\",\n"
	  "                         \"statusCodeRanges\": [{\"min\": 500, \"max\": 599}]},\n"
	  "                         \"tripDuration\": \"PT30S\", \"acceptRetryAfter\": true}]}'.\n"
	  "  --no-circuit-breaker   Remove it.\n"
	  "  --pool MEMBERS         Makes ID a pool (APIM type Pool) of single backends:\n"
	  "                         ID[:PRIORITY[:WEIGHT]] comma-separated, 1 to 30;\n"
	  "                         priority 0-100 (lower first, default 0), weight\n"
	  "                         0-100 (default 1). A pool has no url.\n"
	  "  --no-pool              Makes a pool a single backend again (needs --url).\n"
	  "\n"
	  "On update, omitted options keep their stored values.\n"
	  "Example:\n"
	  "  certgate backend set orders-be --url https://10.0.0.5:8443 \\\n"
	  "      --client-cert gw-client\n" },
	{ "backend list", cg_cli_backend_list, "backend list [--json]",
	  "Lists backends: ID, URL, client certificate, chain and name validation.\n"
	  "\n"
	  "  --json        Print a JSON array of APIM backend resources.\n" },
	{ "backend show", cg_cli_backend_show, "backend show ID [--json]",
	  "Shows one backend.\n"
	  "\n"
	  "  --json        Print {id, properties{url, protocol, credentials{certificateIds},\n"
	  "                tls{validateCertificateChain, validateCertificateName}}}.\n" },
	{ "backend rm", cg_cli_backend_rm, "backend rm ID", "Removes a backend.\n" },
	{ "sub set", cg_cli_sub_set,
	  "sub set ID [--scope /apis|/apis/API|/products/PRODUCT] [--display-name TEXT]\n"
	  "           [--state STATE]\n"
	  "           [--primary-key KEY] [--secondary-key KEY]\n"
	  "           [--expiration YYYY-MM-DDTHH:MM:SSZ | --no-expiration]",
	  "Creates or updates a subscription (APIM subscriptions entity): a pair of keys\n"
	  "that grants the APIs of its scope while its state is active. ID is like an\n"
	  "API id.\n"
	  "\n"
	  "  --scope S          /apis (all APIs), /apis/API (one API) or\n"
	  "                     /products/PRODUCT (the APIs of a published product).\n"
	  "                     Needed when creating.\n"
	  "  --state STATE      active, suspended, submitted, rejected, cancelled or\n"
	  "                     expired. Only active grants access. Default on create:\n"
	  "                     submitted (APIM).\n"
	  "  --primary-key KEY, --secondary-key KEY\n"
	  "                     8-256 letters, digits or . _ ~ -, unique among all keys.\n"
	  "                     Generated (32 hex digits) when not given on create.\n"
	  "  --expiration DATE  After this UTC time the keys no longer work.\n"
	  "  --no-expiration    Remove the expiration date.\n"
	  "\n"
	  "On update, omitted options keep their stored values. The keys are never\n"
	  "printed by list or show: use 'sub keys'.\n"
	  "Example:\n"
	  "  certgate sub set partner-a --scope /apis/orders --state active\n" },
	{ "sub list", cg_cli_sub_list, "sub list [--json]",
	  "Lists subscriptions: ID, scope, state, expiration, display name (no keys).\n" },
	{ "sub show", cg_cli_sub_show, "sub show ID [--json]",
	  "Shows one subscription (no keys).\n" },
	{ "sub keys", cg_cli_sub_keys, "sub keys ID [--json]",
	  "Prints the primary and secondary keys of a subscription (APIM listSecrets).\n" },
	{ "sub regenerate", cg_cli_sub_regenerate, "sub regenerate ID --primary|--secondary",
	  "Replaces one key of a subscription with a new generated one; the other key\n"
	  "keeps working.\n" },
	{ "sub rm", cg_cli_sub_rm, "sub rm ID", "Removes a subscription: its keys stop working.\n" },
	{ "product set", cg_cli_product_set,
	  "product set ID [--display-name TEXT] [--description TEXT] [--state STATE]\n"
	  "           [--subscription-required true|false] [--approval-required true|false]\n"
	  "           [--subscriptions-limit N|none]",
	  "Creates or updates a product (APIM products entity): a group of APIs that a\n"
	  "subscription with the scope /products/ID grants while the product is\n"
	  "published. ID is like an API id. Add APIs with 'product add-api', set its\n"
	  "policy with 'policy set --product ID'.\n"
	  "\n"
	  "  --state STATE      published or notPublished (default on create, APIM's).\n"
	  "                     A product that is not published grants nothing.\n"
	  "  --subscription-required true|false\n"
	  "                     APIM subscriptionRequired (default true); shown to\n"
	  "                     policies as context.Product.SubscriptionRequired.\n"
	  "                     false does not open the product's APIs to callers\n"
	  "                     without a key (docs/subscriptions.md).\n"
	  "  --approval-required true|false, --subscriptions-limit N|none\n"
	  "                     Stored and shown to policies; certgate has no approval\n"
	  "                     workflow and no users to count subscriptions of.\n"
	  "\n"
	  "On update, omitted options keep their stored values.\n"
	  "Example:\n"
	  "  certgate product set starter --state published\n" },
	{ "product list", cg_cli_product_list, "product list [--json]",
	  "Lists products: ID, state, whether a key is required, API count, display name.\n" },
	{ "product show", cg_cli_product_show, "product show ID [--json]",
	  "Shows one product and its APIs.\n" },
	{ "product rm", cg_cli_product_rm, "product rm ID [--delete-subscriptions]",
	  "Removes a product, its policy and its API links. A product that subscriptions\n"
	  "are scoped to is not removed unless --delete-subscriptions (APIM's\n"
	  "deleteSubscriptions) removes them with it.\n" },
	{ "product add-api", cg_cli_product_add_api, "product add-api PRODUCT API",
	  "Adds an API to a product: the product's subscriptions grant it.\n" },
	{ "product rm-api", cg_cli_product_rm_api, "product rm-api PRODUCT API",
	  "Removes an API from a product: the product's subscriptions stop granting it\n"
	  "(they are kept).\n" },
};

#define NUM_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cg_cli_cmd *find(const char *name)
{
	for (size_t i = 0; i < NUM_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void cg_cli_command_help(const char *cmd)
{
	const struct cg_cli_cmd *c = find(cmd);
	if (!c)
		return;
	printf("Usage: certgate [--store FILE] %s\n\n%s", c->synopsis, c->help);
	printf("\nCommon options:\n  --store FILE  The store (default: $CERTGATE_STORE, else ./certgate.db);\n"
	       "                or a postgresql:// URL, a store gateways share.\n"
	       "  --help, -h    This help.\n"
	       "\nExit status: 0 success, 1 the operation failed, 2 usage error.\n");
}

static void group_help(const char *group)
{
	size_t gl = strlen(group);
	printf("Usage: certgate [--store FILE] %s VERB ...\n\n", group);
	for (size_t i = 0; i < NUM_COMMANDS; i++)
		if (strncmp(commands[i].name, group, gl) == 0 && commands[i].name[gl] == ' ')
			printf("  certgate %s\n", commands[i].synopsis);
	printf("\nRun 'certgate %s VERB --help' for the details of one.\n", group);
}

static void usage(void)
{
	printf("Usage: certgate [--store FILE] COMMAND [ARGS...]\n"
	       "\n"
	       "certgate is an API gateway that secures APIs with TLS client certificates and\n"
	       "runs Azure API Management policies. Its configuration lives in a store (one\n"
	       "SQLite file, mode 0600: it holds private keys; or a PostgreSQL database\n"
	       "several gateways share); these commands edit it, and\n"
	       "`serve` runs the gateway, which picks up changes while it runs.\n"
	       "\n"
	       "Global options:\n"
	       "  --store FILE  The store (default: $CERTGATE_STORE, else ./certgate.db);\n"
	       "                or a postgresql:// URL (docs/fleet.md).\n"
	       "  --help, -h    This help. `certgate COMMAND --help` explains one command.\n"
	       "  --version     Print the version and exit.\n"
	       "\n"
	       "Commands:\n");
	for (size_t i = 0; i < NUM_COMMANDS; i++)
		printf("  %s\n", commands[i].synopsis);
	printf("  import DIR       (an APIOps extractor folder; see certgate import --help)\n"
	       "  export DIR       (the same layout; secrets and private keys left out)\n"
	       "  serve [OPTIONS]  (run the gateway; see certgate serve --help)\n"
	       "\n"
	       "Exit status: 0 success, 1 the operation failed, 2 usage error.\n");
}

static int serve(const char *store_path, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cg_gw_serve_usage();
			return CG_CLI_EXIT_OK;
		}
	}
	return cg_gw_serve_main(store_path, argc, argv);
}

int cg_cli_main(int argc, char **argv)
{
	const char *store_path = NULL;
	int i = 1;
	/* Global options come before the command. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage();
			return CG_CLI_EXIT_OK;
		}
		if (strcmp(a, "--version") == 0) {
			printf("certgate %s (OpenSSL %s, GnuTLS %s, SQLite %s, jansson %s)\n", CG_VERSION,
			       OpenSSL_version(OPENSSL_VERSION_STRING), gnutls_check_version(NULL),
			       sqlite3_libversion(), JANSSON_VERSION);
			return CG_CLI_EXIT_OK;
		}
		if (strcmp(a, "--store") == 0) {
			if (i + 1 >= argc)
				return cg_cli_usage_error(NULL, "option --store needs a value");
			store_path = argv[++i];
		} else if (strncmp(a, "--store=", 8) == 0) {
			store_path = a + 8;
		} else {
			return cg_cli_usage_error(NULL, "unknown option '%s'", a);
		}
		if (!*store_path)
			return cg_cli_usage_error(NULL, "option --store needs a file name");
	}
	if (!store_path)
		store_path = cg_store_default_path();
	if (i >= argc)
		return cg_cli_usage_error(NULL, "missing COMMAND");
	const char *group = argv[i];
	/* APIOps folders are their own module's commands (src/apiops). */
	if (strcmp(group, "import") == 0 || strcmp(group, "export") == 0)
		return cg_apiops_cli(argc - i, argv + i, store_path);
	if (strcmp(group, "serve") == 0)
		return serve(store_path, argc - i, argv + i);
	static const char *const groups[] = { "host", "api",  "op", "policy",  "nv",
					      "fragment", "cert", "ca", "crl", "backend", "sub",
					      "product" };
	bool known = false;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		known = known || strcmp(group, groups[g]) == 0;
	if (!known)
		return cg_cli_usage_error(NULL, "unknown command '%s'", group);
	if (i + 1 >= argc)
		return cg_cli_usage_error(
			NULL, "missing a verb after '%s' (try 'certgate %s --help')", group, group);
	const char *verb = argv[i + 1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		group_help(group);
		return CG_CLI_EXIT_OK;
	}
	char name[sizeof("fragment") + CG_CLI_MAX_VERB_LEN + 1]; /* the longest group */
	snprintf(name, sizeof(name), "%s %.*s", group, CG_CLI_MAX_VERB_LEN, verb);
	const struct cg_cli_cmd *c = find(name);
	if (!c || strlen(verb) > CG_CLI_MAX_VERB_LEN)
		return cg_cli_usage_error(NULL,
					  "unknown command '%s %s' (try 'certgate %s --help')",
					  group, verb, group);
	struct cg_cli_ctx ctx = { store_path, c->name };
	/* The command sees argv[0] = its verb, then its own arguments. */
	return c->fn(&ctx, argc - i - 1, argv + i + 1);
}
