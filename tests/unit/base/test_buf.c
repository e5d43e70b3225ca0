/* cg_buf: appends, the printf-free number append, consume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"

static void test_append_u64(void **state)
{
	(void)state;
	static const struct {
		uint64_t v;
		const char *text;
	} cases[] = {
		{ 0, "0" }, { 7, "7" }, { 10, "10" }, { 200, "200" }, { 65536, "65536" },
		{ 4294967296ull, "4294967296" }, { UINT64_MAX, "18446744073709551615" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cg_buf b;
		cg_buf_init(&b, 64);
		assert_int_equal(cg_buf_append(&b, "x=", 2), 0);
		assert_int_equal(cg_buf_append_u64(&b, cases[i].v), 0);
		assert_int_equal(b.len, 2 + strlen(cases[i].text));
		assert_memory_equal(b.data, "x=", 2);
		assert_memory_equal(b.data + 2, cases[i].text, strlen(cases[i].text));
		cg_buf_free(&b);
	}
}

/* A buffer at its limit refuses the number and keeps what it had. */
static void test_append_u64_limit(void **state)
{
	(void)state;
	struct cg_buf b;
	cg_buf_init(&b, 4);
	assert_int_equal(cg_buf_append(&b, "ab", 2), 0);
	assert_int_equal(cg_buf_append_u64(&b, 12345), -1);
	assert_int_equal(b.len, 2);
	assert_int_equal(cg_buf_append_u64(&b, 12), 0);
	assert_memory_equal(b.data, "ab12", 4);
	cg_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_u64),
		cmocka_unit_test(test_append_u64_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
