/* PEM parsing and checks for hostname certificates and keys, and the
 * certificate view shown to users. Used by the store's writes (validation
 * before commit), the CLI and the REST API. */
#ifndef CG_STORE_CERT_H
#define CG_STORE_CERT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "store/cert-t.h"

/* Parses a PEM certificate chain (leaf first, then the certificates that
 * issued it, each issuing the one before). Accepts 1..CG_STORE_MAX_CHAIN
 * certificates and ignores text between PEM blocks. Refuses: more than
 * CG_STORE_MAX_PEM_BYTES, no certificate, a broken block, a wrong order.
 * On success *out is a new stack the caller frees with
 * sk_X509_pop_free(out, X509_free). Returns 0 or CG_STORE_FAIL_INVALID. */
int cg_store_chain_parse(const char *pem, STACK_OF(X509) * *out, char *err, size_t errlen);

/* Parses an unencrypted RSA or EC private key in PEM (PKCS#1, SEC1 or
 * PKCS#8). Refuses encrypted keys (with a hint how to decrypt), other key
 * types, garbage. On success *out is the caller's (EVP_PKEY_free).
 * Returns 0 or CG_STORE_FAIL_INVALID. */
int cg_store_key_parse(const char *pem, EVP_PKEY **out, char *err, size_t errlen);

/* Re-encodes a chain / key as PEM into a malloc'd NUL-terminated string the
 * caller frees. NULL when out of memory. */
char *cg_store_chain_to_pem(STACK_OF(X509) * chain);
char *cg_store_key_to_pem(EVP_PKEY *key);

/* Describes the leaf of a PEM chain (see struct cg_store_cert_info).
 * Returns 0 or CG_STORE_FAIL_INVALID when the chain does not parse. */
int cg_store_cert_describe(const char *chain_pem, struct cg_store_cert_info *out, char *err,
			   size_t errlen);

/* Whether leaf is a certificate for hostname name (lowercase, as stored):
 * RFC 6125 matching by OpenSSL for plain names; for a wildcard hostname
 * "*.example.com", the certificate must carry that same wildcard (a DNS
 * SAN, or the CN when there are no DNS SANs). Used for a warning only. */
bool cg_store_cert_names_host(X509 *leaf, const char *name);

/* Parses an uploaded certificate file (APIM certificates entity, CA
 * certificates): PEM (one certificate, optionally followed by its
 * unencrypted private key), DER (.cer), or PKCS#12 (.pfx/.p12) opened with
 * password (NULL means the empty password). data need not be
 * NUL-terminated; at most CG_STORE_MAX_CERT_FILE_BYTES. Refuses: garbage,
 * more than one certificate in a PEM, a wrong PKCS#12 password, a PKCS#12
 * without a certificate, a key that does not match the certificate, a
 * certificate the gateway's .NET view refuses (tls/x509.h limits).
 * *cert is the caller's (X509_free); *key is NULL when no key came with
 * the certificate, else the caller's (EVP_PKEY_free). Returns 0 or
 * CG_STORE_FAIL_INVALID (CG_STORE_FAIL_IO when out of memory). */
int cg_store_cert_parse_upload(const unsigned char *data, size_t len, const char *password,
			       X509 **cert, EVP_PKEY **key, char *err, size_t errlen);

/* Fills info from one certificate (chain_len is left 1). */
void cg_store_cert_info_of(X509 *x, struct cg_store_cert_info *info);

#endif
