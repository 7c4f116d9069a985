console.log(`post: STATE_saved=${process.env.STATE_saved} STATE_legacy=${process.env.STATE_legacy} INPUT_WHO=${process.env.INPUT_WHO}`);
