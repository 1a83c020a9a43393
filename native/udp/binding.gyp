{
  "targets": [
    {
      "target_name": "udp",
      "sources": ["udp.c", "recv.c", "timer.c", "scramble.c", "../common/poll-reader.c"],
      "include_dirs": ["../common"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
