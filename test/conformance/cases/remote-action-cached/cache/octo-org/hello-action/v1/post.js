console.log(`post: STATE_fromPre=${process.env.STATE_fromPre} STATE_fromMain=${process.env.STATE_fromMain}`);
