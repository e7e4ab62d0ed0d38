# C plugins: host/wasm's TestCToolchain builds host/wasm/testdata/c/plugin.c
# with Debian's clang, lld, wasi-libc and the wasm32 compiler runtime
# (docs/ABI.md §9.3) and loads it in the host. Nothing built is committed:
# without the packages the test says so in one line and skips, except in CI
# (CI set), which installs them here and fails without them.

CI_APT_PACKAGES += clang lld wasi-libc libclang-rt-14-dev-wasm32
