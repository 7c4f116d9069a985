const fs = require("fs");
const env = process.env;
console.log(`main: STATE_fromPre=${env.STATE_fromPre} repository=${env.GITHUB_ACTION_REPOSITORY} ref=${env.GITHUB_ACTION_REF}`);
fs.appendFileSync(env.GITHUB_STATE, "fromMain=main-state\n");
fs.appendFileSync(env.GITHUB_OUTPUT, `greeting=hello ${env.INPUT_WHO}\n`);
