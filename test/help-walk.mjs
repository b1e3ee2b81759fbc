// Walks every command's --help in-process through the installed package's CLI entry; prints {path: help} as JSON.
const [mainPath] = process.argv.slice(2);
const { runCli } = await import(mainPath);
const helps = {};
async function helpOf(path) {
  let text = '';
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log;
  console.log = (...args) => { text += args.join(' ') + '\n'; };
  process.stdout.write = (chunk) => { text += String(chunk); return true; };
  try {
    await runCli([...path, '--help']);
  } finally {
    process.stdout.write = write;
    console.log = log;
  }
  return text;
}
async function walk(path) {
  const text = await helpOf(path);
  helps[path.join(' ')] = text;
  const section = text.split(/\n\n/).find((block) => block.startsWith('Commands:')) ?? '';
  for (const line of section.split('\n').slice(1)) {
    const match = /^\s+dpc ((?:[\w-]+ )*)([\w-]+)/.exec(line);
    if (!match) continue;
    const words = `${match[1]}${match[2]}`.split(' ');
    if (words.length === path.length + 1) await walk(words);
  }
}
await walk([]);
process.stdout.write(JSON.stringify(helps));
