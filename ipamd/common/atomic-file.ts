import { open, rename } from 'node:fs/promises';

/** Writes a file so that a reader (or a crash) sees the old content or the new, never half: temporary file, fsync, rename. */
export async function writeFileAtomically(path: string, text: string, mode: number, temporary = `${path}.tmp`): Promise<void> {
  const file = await open(temporary, 'w', mode);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}

/** Makes renames in a directory durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

