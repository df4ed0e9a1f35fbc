// Kubernetes' `$(VAR)` references in env values, command and args, expanded as the kubelet expands them.

/**
 * Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion):
 * `$(NAME)` becomes the value of NAME when `lookup` knows it and stays as written otherwise;
 * `$$` is an escaped `$`; any other `$` is literal.
 */
export function expandKubernetesReferences(input: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    if (input[i] === "$" && i + 1 < input.length) {
      const next = input[i + 1];
      if (next === "$") {
        out += "$";
        i++;
        continue;
      }
      if (next === "(") {
        const close = input.indexOf(")", i + 2);
        if (close >= 0) {
          const value = lookup(input.slice(i + 2, close));
          out += value ?? input.slice(i, close + 1);
          i = close;
          continue;
        }
      }
    }
    out += input[i];
  }
  return out;
}
