// A heksher ABI v1 plugin in C, built with Debian's clang and wasi-libc
// (docs/ABI.md §9.3). host/wasm's TestCToolchain compiles it when the
// toolchain is installed (mk/c.mk has CI install it), with the flags of
// c_test.go's cFlags, checks its imports and loads it in the host:
//
//   clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -o plugin.wasm plugin.c
//
// The ABI's exports are named in the source (export_name) and its imports
// too (import_module, import_name); nothing is built into the repository.
//
// At init it declares "greeting" (str, configurable by "env", default
// "hello"); on a setting_changed event it looks "greeting" up for env=prod
// and logs it, and on failure it sets the host's reason (last_error) as
// its error.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT(name) __attribute__((import_module("heksher_v1"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("get_setting") int32_t get_setting(const char *name, uint32_t name_len, const uint8_t *ctx, uint32_t ctx_len, char *buf, uint32_t buf_cap);
IMPORT("set_error") void set_error(const char *msg, uint32_t len);
IMPORT("log") void host_log(int32_t level, const char *msg, uint32_t len);
IMPORT("declare") int32_t declare(const uint8_t *decl, uint32_t len);
IMPORT("subscribe") int32_t subscribe(uint32_t kinds);
IMPORT("last_error") int32_t last_error(char *buf, uint32_t buf_cap);

// The declaration (docs/ABI.md §5.4): str "greeting" | str "str" |
// strs ["env"] | str "\"hello\"" | str "" | str "".
static const uint8_t decl[] = {
	8, 0, 0, 0, 'g', 'r', 'e', 'e', 't', 'i', 'n', 'g',
	3, 0, 0, 0, 's', 't', 'r',
	1, 0, 0, 0, 3, 0, 0, 0, 'e', 'n', 'v',
	7, 0, 0, 0, '"', 'h', 'e', 'l', 'l', 'o', '"',
	0, 0, 0, 0,
	0, 0, 0, 0,
};

// The context env=prod (docs/ABI.md §5.2).
static const uint8_t prod[] = {1, 0, 0, 0, 3, 0, 0, 0, 'e', 'n', 'v', 4, 0, 0, 0, 'p', 'r', 'o', 'd'};

static char line[1024];

EXPORT("heksher_abi_v1") void heksher_abi_v1(void) {}

EXPORT("heksher_alloc") void *heksher_alloc(int32_t size) { return malloc((size_t)size); }

EXPORT("heksher_free") void heksher_free(void *p) { free(p); }

// fail sets the host's reason for the last failing call as the call's error.
static int32_t fail(void) {
	int32_t n = last_error(line, sizeof line);
	if (n < 0 || n > (int32_t)sizeof line) n = 0;
	set_error(line, (uint32_t)n);
	return 1;
}

EXPORT("heksher_init") int32_t heksher_init(const uint8_t *cfg, int32_t len) {
	(void)cfg;
	(void)len;
	if (declare(decl, sizeof decl) != 0) return fail();
	if (subscribe(1 << 4) != 0) return fail(); // setting_changed
	return 0;
}

EXPORT("heksher_on_setting_changed") int32_t heksher_on_setting_changed(const uint8_t *ev, int32_t len) {
	// The setting's name follows the 40-byte header (docs/ABI.md §5.3).
	if (len < 44) return 1;
	uint32_t n;
	memcpy(&n, ev + 40, 4);
	if (n > (uint32_t)len - 44 || n > 200) return 1;
	char value[256];
	const char *lookup = (n == 7 && memcmp(ev + 44, "missing", 7) == 0) ? "missing" : "greeting";
	int32_t got = get_setting(lookup, (uint32_t)strlen(lookup), prod, sizeof prod, value, sizeof value);
	if (got < 0) return fail();
	if (got > (int32_t)sizeof value) return 1;
	size_t at = 0;
	memcpy(line, ev + 44, n);
	at += n;
	const char *mid = " changed; greeting for env=prod: ";
	memcpy(line + at, mid, strlen(mid));
	at += strlen(mid);
	memcpy(line + at, value, (size_t)got);
	at += (size_t)got;
	host_log(0, line, (uint32_t)at);
	return 0;
}
