import * as fs from 'node:fs';
import { bytesByPackage } from './source-map';

const f = process.argv[2];
const t = bytesByPackage(fs.readFileSync(f, 'utf8'), JSON.parse(fs.readFileSync(`${f}.map`, 'utf8')));
console.log([...t].sort((a, b) => b[1] - a[1]), [...t.values()].reduce((a, b) => a + b, 0), fs.statSync(f).size);
