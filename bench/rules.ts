/** Every benchmark measures the seed job's rules (cluster.config.json). */
export { SEED_RULES as DEFAULT_RULES } from '../src/config/seed-rules.js';
