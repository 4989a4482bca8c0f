import { watch, type FSWatcher } from "node:fs";
import type { Logger } from "../log";

/**
 * Calls `onChange(name)` for changes to entries of `dir` (appends, creates,
 * renames) through inotify, so followers read a new line within milliseconds
 * instead of at their next poll. Watching the directory, not the file, keeps
 * working across rotation. Where watching fails (a missing directory, inotify
 * limits) the followers' polling alone carries on; close() is idempotent.
 */
export function watchDirectory(
  dir: string,
  onChange: (name: string | undefined) => void,
  log: Logger,
): { close(): void } {
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, (_event, name) => onChange(name ?? undefined));
    watcher.on("error", (error) => {
      log.warn("ingest: directory watch failed; polling only", { dir, error });
      watcher?.close();
      watcher = undefined;
    });
  } catch (error) {
    log.warn("ingest: cannot watch directory; polling only", { dir, error });
  }
  return {
    close() {
      watcher?.close();
      watcher = undefined;
    },
  };
}
