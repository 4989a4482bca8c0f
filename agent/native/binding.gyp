# The agent's libbpf addon: agent/native/build/Release/fos1_bpf.node.
# Built offline against the running Node's own headers (<prefix>/include/node):
#   node-gyp rebuild --nodedir="$(node -p 'require("path").resolve(process.execPath, "../..")')"
# Error messages are truncated rather than sized for two PATH_MAX paths: -Wno-format-truncation.
{
  "targets": [
    {
      "target_name": "fos1_bpf",
      "sources": ["fos1_bpf.c", "canonical_maps.c", "../../bpf/tools/objects.c"],
      "include_dirs": ["../../bpf/include", "../../bpf/tools"],
      "cflags": ["-O2", "-Wall", "-Werror", "-Wno-format-truncation", "-D_GNU_SOURCE"],
      "libraries": ["-lbpf"]
    }
  ]
}
