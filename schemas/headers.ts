// Kafka record headers that are part of the contract, beside the Avro values.

/** Set by the importer on every message: the file, line and file sha256 a row came from. */
export const SOURCE_FILE_HEADER = 'stockflow-source-file'
export const SOURCE_LINE_HEADER = 'stockflow-source-line'
export const FILE_SHA256_HEADER = 'stockflow-file-sha256'
/**
 * Set by the importer on a rejected row: which import of the file it came from, the key its outcome is
 * recorded under (`import_outcomes.claim_key`), so the alerter counts the row with its own import.
 */
export const FILE_CLAIM_HEADER = 'stockflow-file-claim'

/** Set by `stockflow redrive`, with the redrive's audit id: the processor retries a failed movement afresh. */
export const REDRIVE_HEADER = 'stockflow-redrive'
