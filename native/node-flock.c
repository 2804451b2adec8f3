/*
 * husk-flock.node: flock(2) for Node, which has none (Bun calls libc through bun:ffi, see
 * src/sys/bun-libc.ts). Without it Node's locks went through the helper's --flocks process, a
 * round trip of two processes per lock: ~0.3–0.5 ms of a container's time, twice per engine
 * container (its name claimed, its exit settled). One call, never blocking: LOCK_NB is the
 * caller's to pass, and src/sys/flock-wait.ts waits on the event loop between tries.
 *
 *   flock(fd, operation) → 0, or the errno (EWOULDBLOCK while another holds the lock)
 *
 * A Node-API module (ABI-stable across Node versions): it declares the few Node-API functions
 * it calls itself, so that building it needs no Node headers, and the node binary provides
 * them when it loads the module. The only native code husk loads into a caller's process:
 * nothing here keeps state, starts a thread or touches anything but the fd it is given.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/file.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status; /* napi_ok is 0 */
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

extern napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv,
				    napi_value *this_arg, void **data);
extern napi_status napi_get_value_int32(napi_env env, napi_value value, int32_t *result);
extern napi_status napi_create_int32(napi_env env, int32_t value, napi_value *result);
extern napi_status napi_create_function(napi_env env, const char *name, size_t length, napi_callback cb, void *data,
					napi_value *result);
extern napi_status napi_set_named_property(napi_env env, napi_value object, const char *name, napi_value value);
extern napi_status napi_throw_type_error(napi_env env, const char *code, const char *msg);

/* Node-API version 1 is all this needs (Node ≥ 8.6). */
int32_t node_api_module_get_api_version_v1(void)
{
	return 1;
}

static napi_value call_flock(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], result;
	int32_t fd, op;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc != 2 ||
	    napi_get_value_int32(env, argv[0], &fd) != 0 || napi_get_value_int32(env, argv[1], &op) != 0) {
		napi_throw_type_error(env, NULL, "flock(fd, operation): two integers");
		return NULL;
	}
	int rc;
	while ((rc = flock(fd, op)) != 0 && errno == EINTR)
		;
	if (napi_create_int32(env, rc == 0 ? 0 : errno, &result) != 0)
		return NULL;
	return result;
}

napi_value napi_register_module_v1(napi_env env, napi_value exports)
{
	napi_value fn;
	if (napi_create_function(env, "flock", 5, call_flock, NULL, &fn) != 0 ||
	    napi_set_named_property(env, exports, "flock", fn) != 0)
		return NULL;
	return exports;
}
