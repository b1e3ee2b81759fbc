/**
 * Shell completion: `dpc completion bash|zsh` prints a script; the script asks `dpc --get-yargs-completions <words>`
 * for candidates, which yargs answers from the command tree (commands, subcommands, flags). Profile names after
 * `--profile` come from the built-in profiles and the config file.
 */
import type { Argv, CommandModule } from 'yargs';
import { outputFor, type GlobalArgs } from './context.js';
import { cliProcess } from './cli-process.js';

const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** Pure: the completion script for a shell. */
export function completionScript(shell: Shell): string {
  if (shell === 'zsh') {
    return `#compdef dpc
# dpc completion for zsh. Install: dpc completion zsh > "\${fpath[1]}/_dpc"  (or: source <(dpc completion zsh) in ~/.zshrc)
_dpc_completions() {
  local -a reply
  local IFS=$'\\n'
  # SHELL=zsh: candidates come back as name:description
  reply=($(SHELL=zsh dpc --get-yargs-completions "\${words[@]:0:$CURRENT}" 2>/dev/null))
  if [[ \${#reply} -gt 0 ]]; then _describe 'values' reply; else _files; fi
}
if [[ "\${zsh_eval_context[-1]}" == "loadautofunc" ]]; then _dpc_completions "$@"; else compdef _dpc_completions dpc; fi
`;
  }
  return `# dpc completion for bash. Install: dpc completion bash > ~/.local/share/bash-completion/completions/dpc
#   (or: source <(dpc completion bash) in ~/.bashrc)
_dpc_completions() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\\n'
  local -a reply
  reply=($(SHELL=bash dpc --get-yargs-completions "\${COMP_WORDS[@]:0:$((COMP_CWORD + 1))}" 2>/dev/null))
  COMPREPLY=($(compgen -W "\${reply[*]}" -- "$cur"))
  [[ \${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=($(compgen -f -- "$cur"))
  return 0
}
complete -o default -F _dpc_completions dpc
`;
}

/** The shell named by $SHELL, bash when it is neither. Pure. */
function shellFrom(env: Readonly<Record<string, string | undefined>>): Shell {
  return env.SHELL?.endsWith('zsh') ? 'zsh' : 'bash';
}

/** Built-in profile names and those in the config file, for `--profile <TAB>`; a broken config file gives the built-ins. */
async function profileNames(explicitConfig: string | undefined, env: NodeJS.ProcessEnv = cliProcess().env): Promise<string[]> {
  const { KNOWN_PROFILES } = await import('./config/settings.js');
  const { configPath, readConfig } = await import('./config/file.js');
  const file = await readConfig(configPath(env, explicitConfig)).catch(() => undefined);
  return [...new Set([...Object.keys(KNOWN_PROFILES), ...Object.keys(file?.profiles ?? {})])].sort();
}

/**
 * yargs' completion hook: after `--profile` the profile names, otherwise yargs' own candidates (commands and flags of
 * the command typed so far). yargs parses the words first, so `argv.profile === current` means the word being
 * completed is the value of --profile.
 */
export function completeWord(current: string, argv: Record<string, unknown>, defaultCompletion: () => void, done: (candidates: string[]) => void): void {
  if (typeof argv.profile !== 'string' || argv.profile !== current) {
    defaultCompletion();
    return;
  }
  profileNames(typeof argv.config === 'string' ? argv.config : undefined).then(
    (names) => done(names.filter((n) => n.startsWith(current))),
    () => done([]),
  );
}

interface CompletionArgs extends GlobalArgs {
  shell?: string;
}

export const completionCommand: CommandModule<GlobalArgs, CompletionArgs> = {
  command: 'completion [shell]',
  describe: 'Print a bash or zsh completion script (commands, flags, profile names)',
  builder: (y) =>
    (y as Argv<GlobalArgs>)
      .positional('shell', { type: 'string', choices: SHELLS, describe: 'Shell to complete for (default: from $SHELL)' })
      .example('$0 completion bash > ~/.local/share/bash-completion/completions/dpc', 'bash: completion in every new shell')
      .example('$0 completion zsh > "${fpath[1]}/_dpc"', 'zsh: then restart the shell (compinit)')
      .example('source <($0 completion)', 'this shell only') as unknown as Argv<CompletionArgs>,
  handler: (argv) => {
    outputFor(argv).raw(completionScript((argv.shell as Shell | undefined) ?? shellFrom(cliProcess().env)));
  },
};
