console.log("post-if post ran");
