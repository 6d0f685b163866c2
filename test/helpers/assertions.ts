// Assertions shared by the provider suites.
import assert from "node:assert/strict";
import { SyncError } from "../../src/core/errors.js";

/**
 * Asserts the promise rejects with a SyncError of this class about this secret (none when
 * undefined) whose text carries none of `values`, and returns it.
 */
export async function rejectsWith(promise: Promise<unknown>, errorClass: string, secretPath?: string, values: string[] = []): Promise<SyncError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SyncError, `not a SyncError: ${String(error)}`);
    assert.equal(error.errorClass, errorClass, error.message);
    assert.equal(error.secretPath, secretPath);
    const text = `${error.message}\n${JSON.stringify(error)}`;
    for (const v of values) assert.ok(!text.includes(v), `the error carries a secret value: ${error.message}`);
    return error;
  }
  assert.fail(`expected a ${errorClass} rejection`);
}
