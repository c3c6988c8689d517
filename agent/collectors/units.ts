/**
 * Bytes in one MB of machine_stats. clearml-agent divides byte counts by 1024 * 1024
 * (its resource monitor's BytesSizes.megabytes), so this daemon does the same for
 * memory, network and disk figures.
 */
export const BYTES_PER_MB = 1024 * 1024;
