/**
 * Expands `${NAME}` and `${NAME:-fallback}` in every string of a parsed config,
 * so one committed config can point at services whose ports a test or host picks.
 */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, missing: string[], path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_all, name: string, fallback?: string) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      missing.push(`${path || '/'}: environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => expandEnv(item, env, missing, `${path}/${i}`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandEnv(item, env, missing, `${path}/${key}`)]));
  }
  return value;
}
