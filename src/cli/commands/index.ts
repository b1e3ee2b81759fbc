import type { CommandModule } from 'yargs';
// One line per command module. Each module keeps its imports of library code lazy (inside handlers)
// so that `dpc --version` and `dpc --help` stay fast.
export const commands: CommandModule<any, any>[] = [
];
