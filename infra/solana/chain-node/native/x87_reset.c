/*
 * A Node-API module with one function, reset(), that executes EMMS on the calling thread.
 *
 * Why: the SBPF JIT inside litesvm 0.8 (x86_64) spills a register into MM0 on the `callx` path and returns
 * without EMMS, leaving every x87 register tagged as in use (LiteSVM/litesvm#396, fixed upstream by #398,
 * unreleased for the web3.js-v1 line). The next x87 code on that thread (V8's `%` on doubles, libstdc++'s
 * long double arithmetic inside the GC) then overflows the FPU stack, computes NaN, and Node aborts with
 * std::bad_alloc. Calling reset() after each transaction restores what the fix restores.
 *
 * Node-API is declared here rather than included, so that gcc alone builds it (no node-gyp, no headers).
 */
#include <stddef.h>
#include <stdint.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status;
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

extern napi_status napi_create_function(napi_env env, const char *name, size_t length, napi_callback cb,
                                        void *data, napi_value *result);
extern napi_status napi_set_named_property(napi_env env, napi_value object, const char *name, napi_value value);
extern napi_status napi_get_undefined(napi_env env, napi_value *result);

static napi_value reset(napi_env env, napi_callback_info info) {
  (void)info;
  __asm__ volatile("emms");
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "reset", SIZE_MAX, reset, NULL, &fn) != 0) return NULL;
  if (napi_set_named_property(env, exports, "reset", fn) != 0) return NULL;
  return exports;
}
