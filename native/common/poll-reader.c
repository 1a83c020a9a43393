/*
 * A batch reader's lifetime (poll-reader.h has the contract). Both binding.gyp files list
 * this file, so each addon has its own copy, used with its own poll_reader_kind_t.
 */
#include "poll-reader.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "napi-util.h"

static napi_value throw_errno(napi_env env, const poll_reader_kind_t* kind, int err, const char* what) {
  return throw_errno_code(env, kind->code_errno ? kind->code_errno : uv_err_name(-err), err, what);
}

/* One owner (the uv_poll or the JS handle) is done with r; the last one frees it. */
static void disown(poll_reader_t* r) {
  if (--r->owners == 0) free(r);
}

/* The handle is closed (by JS, its finalizer or env teardown): only now may Node unload the
 * addon, since this callback's code lives in it. Hence an *async* cleanup hook, which Node
 * waits for until napi_remove_async_cleanup_hook (Node-API docs,
 * "napi_add_async_cleanup_hook"). A start that failed has no hook to remove. */
static void on_closed(uv_handle_t* h) {
  poll_reader_t* r = h->data;
  if (r->cleanup) napi_remove_async_cleanup_hook(r->cleanup);
  r->cleanup = NULL;
  disown(r);
}

/* Zeroed fields are skipped and released ones zeroed, so a start that failed half way can
 * release what it made, and the finalizer can release whatever close left. */
static void release(poll_reader_t* r) {
  for (size_t i = 0; i < POLL_READER_MAX_KEEP; i++) {
    if (r->keep[i]) napi_delete_reference(r->env, r->keep[i]);
    r->keep[i] = NULL;
  }
  if (r->cb_ref) napi_delete_reference(r->env, r->cb_ref);
  r->cb_ref = NULL;
  if (r->actx) napi_async_destroy(r->env, r->actx);
  r->actx = NULL;
}

/* uv_poll_stop comes first because it takes the fd out of epoll (EPOLL_CTL_DEL), which must
 * happen while the fd is open: epoll watches the open file description, and for a dup the
 * original fd keeps that alive, so closing the dup alone would leave it watched (epoll(7),
 * Q6). libuv allows closing the fd right after uv_poll_stop or uv_close (uv_poll_t docs). */
static void shut(poll_reader_t* r, bool close_fd) {
  r->closed = true;
  uv_poll_stop(&r->poll);
  uv_close((uv_handle_t*)&r->poll, on_closed);
  if (close_fd) close(r->fd);
}

/* Env teardown (worker exit, process exit) with the reader open: the env's loop must not be
 * closed with a live handle. The fd is closed whoever owns it, since JS will not run again to
 * close it. The napi references are left to the handle's finalizer, which Node runs for
 * every handle just before it frees the env (after this hook: the hook holds the env until
 * it is removed); the env is half torn down here. If the reader is already closed, its
 * pending close callback ends the hook. */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  poll_reader_t* r = arg;
  if (r->closed) return;
  shut(r, true);
}

/* The JS handle is gone (collected, or its env is being freed). A reader JS dropped without
 * close is closed here as close would; a closed one may still hold references if env
 * teardown closed it. */
static void on_handle_finalized(napi_env env, void* data, void* hint) {
  poll_reader_t* r = data;
  release(r);
  if (!r->closed) shut(r, r->kind->owns_fd);
  disown(r);
}

void* poll_reader_alloc(napi_env env, const poll_reader_kind_t* kind, size_t size, int fd) {
  poll_reader_t* r = calloc(1, size);
  if (!r) {
    if (kind->owns_fd) close(fd);
    throw_errno(env, kind, ENOMEM, "calloc");
    return NULL;
  }
  r->env = env;
  r->kind = kind;
  r->fd = fd;
  return r;
}

/* The references and async context of a start, and the loop; false with an exception. */
static bool make_refs(poll_reader_t* r, const napi_value* keep, size_t nkeep, napi_value cb, uv_loop_t** loop) {
  napi_env env = r->env;
  napi_value name;
  if (nkeep > POLL_READER_MAX_KEEP) {
    napi_throw_range_error(env, r->kind->code_args, "poll reader: too many buffers to keep");
    return false;
  }
  /* Strong references: C writes into these buffers and calls cb until close. */
  bool ok = true;
  for (size_t i = 0; i < nkeep; i++) ok = ok && napi_create_reference(env, keep[i], 1, &r->keep[i]) == napi_ok;
  ok = ok && napi_create_reference(env, cb, 1, &r->cb_ref) == napi_ok &&
       napi_create_string_utf8(env, r->kind->resource_name, NAPI_AUTO_LENGTH, &name) == napi_ok &&
       napi_async_init(env, NULL, name, &r->actx) == napi_ok && napi_get_uv_event_loop(env, loop) == napi_ok;
  if (!ok) napi_throw_error(env, r->kind->code_napi, "poll reader: napi call failed");
  return ok;
}

/* A start that failed before the uv_poll existed: nothing owns r yet. */
static void discard(poll_reader_t* r) {
  release(r);
  if (r->kind->owns_fd) close(r->fd);
  free(r);
}

/* The JS handle, which from here on owns r too; NULL with an exception (the handle, if made,
 * still owns r: its finalizer will disown it). */
static napi_value make_handle(poll_reader_t* r) {
  napi_env env = r->env;
  napi_value ext;
  CHECK_CODE(r->kind->code_napi, napi_create_external(env, r, on_handle_finalized, NULL, &ext));
  r->owners++;
  CHECK_CODE(r->kind->code_napi, napi_type_tag_object(env, ext, &r->kind->tag));
  return ext;
}

napi_value poll_reader_start(poll_reader_t* r, const napi_value* keep, size_t nkeep, napi_value cb) {
  napi_env env = r->env;
  const poll_reader_kind_t* kind = r->kind;
  uv_loop_t* loop = NULL;
  if (!make_refs(r, keep, nkeep, cb, &loop)) {
    discard(r);
    return NULL;
  }
  int rc = uv_poll_init(loop, &r->poll, r->fd);
  if (rc != 0) {
    discard(r); /* a failed uv_poll_init leaves nothing on the loop (src/unix/poll.c) */
    return throw_errno(env, kind, -rc, "uv_poll_init");
  }
  r->poll.data = r;
  r->owners = 1; /* the uv_poll: from here on only uv_close may let go of it */
  rc = poll_reader_rearm(r);
  napi_value ext = rc == 0 ? make_handle(r) : NULL;
  if (!ext) {
    release(r);
    shut(r, kind->owns_fd);
    return rc != 0 ? throw_errno(env, kind, -rc, "uv_poll_start") : NULL;
  }
  /* Without its teardown hook the reader could outlive the env's loop: refuse to start it,
   * closing it as close() would (the handle made above is disowned by its finalizer). */
  if (napi_add_async_cleanup_hook(env, on_env_cleanup, r, &r->cleanup) != napi_ok) {
    r->cleanup = NULL;
    release(r);
    shut(r, kind->owns_fd);
    napi_throw_error(env, kind->code_napi, "poll reader: napi_add_async_cleanup_hook failed");
    return NULL;
  }
  return ext;
}

void poll_reader_deliver(poll_reader_t* r, int count, int err) {
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return; /* for the two numbers */
  napi_value argv[2];
  napi_create_int32(env, count, &argv[0]);
  napi_create_int32(env, err, &argv[1]);
  call_into_js(env, r->actx, r->cb_ref, 2, argv);
  napi_close_handle_scope(env, scope);
}

void poll_reader_fail(poll_reader_t* r, int count, int err) {
  /* epoll is level-triggered and a broken fd stays "ready": without the stop it would wake
   * us on every loop turn. (On EPOLLERR libuv has stopped the watcher itself before calling
   * us with status < 0, src/unix/poll.c; uv_poll_stop also takes the fd out of epoll.) */
  uv_poll_stop(&r->poll);
  r->paused = true;
  poll_reader_deliver(r, count, err);
}

/* The open reader behind argv[0], with argv[0 .. n) filled; NULL when closed (JS calls on a
 * closed reader are no-ops: the handle keeps r allocated) or, with a TypeError, when argv[0]
 * is not a handle. */
poll_reader_t* poll_reader_from_args(napi_env env, napi_callback_info info, napi_value* argv, size_t n) {
  size_t argc = n;
  void* data = NULL;
  napi_status st = napi_get_cb_info(env, info, &argc, argv, NULL, &data);
  const poll_reader_kind_t* kind = data; /* the addon's property descriptor names its kind */
  if (st != napi_ok || argc < n || !kind) {
    napi_throw_type_error(env, kind ? kind->code_args : NULL, "missing arguments");
    return NULL;
  }
  /* Only externals this kind made are readers: any other value (another addon's handle, a
   * number from a confused caller) would be dereferenced blindly. */
  bool is_reader = false;
  void* p = NULL;
  if (napi_check_object_type_tag(env, argv[0], &kind->tag, &is_reader) != napi_ok || !is_reader ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, kind->code_args, "not a reader handle");
    return NULL;
  }
  poll_reader_t* r = p;
  return r->closed ? NULL : r;
}

napi_value poll_reader_js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  poll_reader_t* r = poll_reader_from_args(env, info, argv, 1);
  if (!r) return NULL;
  /* Memory is freed once the close callback (after cb, if we are inside it, has returned)
   * and the handle's finalizer have both run. */
  release(r);
  shut(r, r->kind->owns_fd);
  return NULL;
}

napi_value poll_reader_js_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  poll_reader_t* r = poll_reader_from_args(env, info, argv, 2);
  if (!r) return NULL;
  bool on;
  CHECK_CODE(r->kind->code_napi, napi_get_value_bool(env, argv[1], &on));
  if (on) uv_ref((uv_handle_t*)&r->poll);
  else uv_unref((uv_handle_t*)&r->poll);
  return NULL;
}

napi_value poll_reader_js_pause(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  poll_reader_t* r = poll_reader_from_args(env, info, argv, 1);
  if (r && !r->paused) {
    uv_poll_stop(&r->poll);
    r->paused = true;
  }
  return NULL;
}

napi_value poll_reader_js_resume(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  poll_reader_t* r = poll_reader_from_args(env, info, argv, 1);
  if (r && r->paused) {
    int rc = poll_reader_rearm(r);
    if (rc != 0) return throw_errno(env, r->kind, -rc, "uv_poll_start");
    r->paused = false;
  }
  return NULL;
}
