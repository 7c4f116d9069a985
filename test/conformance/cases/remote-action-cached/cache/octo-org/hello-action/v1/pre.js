const fs = require("fs");
console.log(`pre: INPUT_WHO=${process.env.INPUT_WHO}`);
fs.appendFileSync(process.env.GITHUB_STATE, "fromPre=pre-state\n");
