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

/* Before the cleanup hook exists (a failed start): nothing to unregister. */
static void on_closed_early(uv_handle_t* h) { free(h->data); }

/* The handle is closed (by JS or by env teardown): only now may Node unload the addon, since
 * this callback's code lives in it. Hence an *async* cleanup hook, which Node waits for until
 * napi_remove_async_cleanup_hook (Node-API docs, "napi_add_async_cleanup_hook"). */
static void on_closed(uv_handle_t* h) {
  poll_reader_t* r = h->data;
  napi_remove_async_cleanup_hook(r->cleanup);
  free(r);
}

/* Zeroed fields are skipped, so a start that failed half way can release what it made. */
static void release(poll_reader_t* r) {
  for (size_t i = 0; i < POLL_READER_MAX_KEEP; i++) {
    if (r->keep[i]) napi_delete_reference(r->env, r->keep[i]);
  }
  if (r->cb_ref) napi_delete_reference(r->env, r->cb_ref);
  if (r->actx) napi_async_destroy(r->env, r->actx);
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
 * close it. The napi references are not released: the env that owns them is going away. If
 * JS already closed the reader, its pending close callback ends the hook. */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  poll_reader_t* r = arg;
  if (r->closed) return;
  shut(r, true);
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

/* The napi part of a start: references, async context, the handle. NULL with an exception. */
static napi_value make_handle(poll_reader_t* r, const napi_value* keep, size_t nkeep, napi_value cb,
                              uv_loop_t** loop) {
  napi_env env = r->env;
  const char* code = r->kind->code_napi;
  napi_value name, ext;
  if (nkeep > POLL_READER_MAX_KEEP) {
    napi_throw_range_error(env, r->kind->code_args, "poll reader: too many buffers to keep");
    return NULL;
  }
  /* Strong references: C writes into these buffers and calls cb until close. */
  for (size_t i = 0; i < nkeep; i++) CHECK_CODE(code, napi_create_reference(env, keep[i], 1, &r->keep[i]));
  CHECK_CODE(code, napi_create_reference(env, cb, 1, &r->cb_ref));
  CHECK_CODE(code, napi_create_string_utf8(env, r->kind->resource_name, NAPI_AUTO_LENGTH, &name));
  CHECK_CODE(code, napi_async_init(env, NULL, name, &r->actx));
  CHECK_CODE(code, napi_get_uv_event_loop(env, loop));
  /* No finalizer: the reader lives until close or env teardown, not until GC. */
  CHECK_CODE(code, napi_create_external(env, r, NULL, NULL, &ext));
  CHECK_CODE(code, napi_type_tag_object(env, ext, &r->kind->tag));
  return ext;
}

napi_value poll_reader_start(poll_reader_t* r, const napi_value* keep, size_t nkeep, napi_value cb) {
  napi_env env = r->env;
  const poll_reader_kind_t* kind = r->kind;
  uv_loop_t* loop = NULL;
  napi_value ext = make_handle(r, keep, nkeep, cb, &loop);
  int rc = ext ? uv_poll_init(loop, &r->poll, r->fd) : 0;
  if (!ext || rc != 0) {
    /* A failed uv_poll_init leaves nothing on the loop (src/unix/poll.c): plain free. */
    release(r);
    if (kind->owns_fd) close(r->fd);
    free(r);
    return ext ? throw_errno(env, kind, -rc, "uv_poll_init") : NULL;
  }
  r->poll.data = r;
  rc = poll_reader_rearm(r);
  if (rc != 0) {
    /* uv_poll_init made it a handle of the loop: only uv_close may let go of it. */
    r->closed = true;
    release(r);
    uv_close((uv_handle_t*)&r->poll, on_closed_early);
    if (kind->owns_fd) close(r->fd);
    return throw_errno(env, kind, -rc, "uv_poll_start");
  }
  napi_add_async_cleanup_hook(env, on_env_cleanup, r, &r->cleanup);
  return ext;
}

void poll_reader_deliver(poll_reader_t* r, int count, int err) {
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2], result;
  napi_get_reference_value(env, r->cb_ref, &cb);
  napi_get_global(env, &recv); /* napi_make_callback converts recv to an object: not undefined */
  napi_create_int32(env, count, &argv[0]);
  napi_create_int32(env, err, &argv[1]);
  /* make_callback, not call_function: it runs in the async context and drains nextTick and
   * microtasks afterwards, as a libuv callback into JS must. */
  napi_make_callback(env, r->actx, recv, cb, 2, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc); /* routes to process 'uncaughtException' */
  }
  napi_close_handle_scope(env, scope);
}

void poll_reader_fail(poll_reader_t* r, int count, int err) {
  /* epoll is level-triggered and a broken fd stays "ready": without the stop it would wake
   * us on every loop turn. (On EPOLLERR libuv has stopped the watcher itself before calling
   * us with status < 0, src/unix/poll.c; uv_poll_stop also takes the fd out of epoll.) */
  uv_poll_stop(&r->poll);
  poll_reader_deliver(r, count, err);
}

/* The open reader behind argv[0], with argv[0 .. n) filled; NULL when closed (JS calls on a
 * closed reader are no-ops) or, with a TypeError, when argv[0] is not a handle. */
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
  /* Memory is freed in the close callback, after cb (if we are inside it) has returned. */
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
