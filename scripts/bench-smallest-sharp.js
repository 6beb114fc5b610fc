// sharp for scripts/bench_smallest.py: one JSON request a line on stdin, one answer a line.
const sharp = require('sharp');
const readline = require('readline');
sharp.concurrency(1);
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const r = JSON.parse(line);
  const t = process.hrtime.bigint();
  if (r.op === 'png') {
    await sharp(r.src)
      .resize(1600, 1600, { fit: 'inside', withoutEnlargement: true })
      .png()
      .toFile(r.out);
  } else {
    await sharp(r.src).jpeg({ quality: r.quality, mozjpeg: r.mozjpeg }).toFile(r.out);
  }
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  process.stdout.write(JSON.stringify({ seconds }) + '\n');
});
